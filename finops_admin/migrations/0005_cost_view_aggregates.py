"""The provider × service category aggregate, under the application-month one.

The application view splits an application-month by provider and service category;
this aggregate holds that split so the view never reads the readings. The readings
are grouped by it first and the application-month aggregate is summed from it (a
refresh still scans the readings once), so every aggregate is dropped and created
again (finops_admin/aggregate_sql.py: AGGREGATES_0003 before, AGGREGATES after).
On PostgreSQL a materialized view is filled as it is created; on SQLite the tables
are filled here, in the same order. The application-month aggregate gets an index by
(application, month) for the application list's series and an application's history.
"""
from django.db import migrations, models


def _replace(schema_editor, before, after, indexes) -> None:
    from finops_admin.aggregate_sql import create_statements, drop_statements, fill_statements

    vendor = schema_editor.connection.vendor
    for statement in (drop_statements(vendor, before) + create_statements(vendor, after, indexes)
                      + fill_statements(vendor, after)):
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    from finops_admin.aggregate_sql import AGGREGATES, AGGREGATES_0003, INDEXES

    _replace(schema_editor, AGGREGATES_0003, AGGREGATES, INDEXES)


def backward(apps, schema_editor):
    from finops_admin.aggregate_sql import AGGREGATES, AGGREGATES_0003

    _replace(schema_editor, AGGREGATES, AGGREGATES_0003, None)


class Migration(migrations.Migration):
    dependencies = [("finops_admin", "0004_schedule")]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.CreateModel(
            name="CostByServiceMonth",
            fields=[
                ("period", models.DateField()),
                ("billed_cost", models.DecimalField(decimal_places=6, max_digits=20)),
                ("effective_cost", models.DecimalField(decimal_places=6, max_digits=20)),
                ("list_cost", models.DecimalField(decimal_places=6, max_digits=20, null=True)),
                ("readings", models.BigIntegerField()),
                ("pk", models.CompositePrimaryKey("application", "period", "provider", "service_category", "domain",
                                                  "family", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("provider", models.CharField(max_length=100)),
                ("service_category", models.CharField(max_length=100)),
            ],
            options={
                "db_table": "finops_agg_service_month",
                "ordering": ["period", "application", "provider", "service_category"],
                "managed": False,
            },
        ),
    ]
