from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("finops_admin", "0002_domains_and_currencies")]

    operations: list = []
