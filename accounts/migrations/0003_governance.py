from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_role_groups")]

    operations: list = []
