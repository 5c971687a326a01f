from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("finops_admin", "0003_aggregates")]

    operations: list = []
