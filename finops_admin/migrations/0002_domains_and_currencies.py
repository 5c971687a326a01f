"""The four hosting domains, each with its 'Unallocated' bucket, and the accepted currencies."""
from django.db import migrations

DOMAINS = [("open", "Open", 1), ("private", "Private", 2), ("public", "Public", 3), ("native", "Native", 4)]
# ISO 4217 codes the cloud providers bill in; more can be added in the admin.
CURRENCIES = [
    ("EUR", "Euro"), ("USD", "US dollar"), ("GBP", "Pound sterling"), ("CHF", "Swiss franc"),
    ("JPY", "Yen"), ("CAD", "Canadian dollar"), ("AUD", "Australian dollar"), ("SEK", "Swedish krona"),
    ("NOK", "Norwegian krone"), ("DKK", "Danish krone"), ("PLN", "Zloty"), ("INR", "Indian rupee"),
    ("SGD", "Singapore dollar"), ("BRL", "Brazilian real"), ("CNY", "Yuan renminbi"),
]


def create(apps, schema_editor):
    Domain = apps.get_model("finops_admin", "Domain")
    Family = apps.get_model("finops_admin", "Family")
    Application = apps.get_model("finops_admin", "Application")
    Currency = apps.get_model("finops_admin", "Currency")
    for code, name, position in DOMAINS:
        domain, _ = Domain.objects.get_or_create(code=code, defaults={"name": name, "position": position})
        family, _ = Family.objects.get_or_create(
            domain=domain, code="unallocated", defaults={"name": "Unallocated", "is_unallocated": True}
        )
        Application.objects.get_or_create(
            code=f"unallocated-{code}",
            defaults={"name": f"Unallocated ({name})", "family": family, "domain": domain, "is_unallocated": True},
        )
    for code, name in CURRENCIES:
        Currency.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("finops_admin", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
