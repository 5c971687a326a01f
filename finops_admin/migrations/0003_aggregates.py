"""The cost aggregates: materialized views on PostgreSQL, tables on SQLite (same names and columns).

The models are unmanaged: this migration creates what they read (see finops_admin/aggregate_sql.py).
The readings table loses its foreign key constraints (checked by Django and the loader): they
cost a trigger per row and key at each batch's commit.
"""
import django.db.models.deletion
from django.db import migrations, models


def create(apps, schema_editor):
    from finops_admin.aggregate_sql import AGGREGATES_0003, create_statements

    for statement in create_statements(schema_editor.connection.vendor, AGGREGATES_0003):
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    from finops_admin.aggregate_sql import AGGREGATES_0003, drop_statements

    for statement in drop_statements(schema_editor.connection.vendor, AGGREGATES_0003):
        schema_editor.execute(statement)


def _sums():
    return [
        ('period', models.DateField()),
        ('billed_cost', models.DecimalField(decimal_places=6, max_digits=20)),
        ('effective_cost', models.DecimalField(decimal_places=6, max_digits=20)),
        ('list_cost', models.DecimalField(decimal_places=6, max_digits=20, null=True)),
        ('readings', models.BigIntegerField()),
    ]


class Migration(migrations.Migration):
    dependencies = [("finops_admin", "0002_domains_and_currencies")]

    operations = [
        migrations.AlterField(
            model_name='costreading',
            name='application',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='readings', to='finops_admin.application'),
        ),
        migrations.AlterField(
            model_name='costreading',
            name='batch_run',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='runs.run'),
        ),
        migrations.AlterField(
            model_name='costreading',
            name='domain',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='finops_admin.domain'),
        ),
        migrations.AlterField(
            model_name='costreading',
            name='family',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='finops_admin.family'),
        ),
        migrations.RunPython(create, drop),
        migrations.CreateModel(
            name='ApplicationRanking',
            fields=[
                ('pk', models.CompositePrimaryKey('period', 'application', blank=True, editable=False, primary_key=True, serialize=False)),
                ('period', models.DateField()),
                ('billed_cost', models.DecimalField(decimal_places=6, max_digits=20)),
                ('effective_cost', models.DecimalField(decimal_places=6, max_digits=20)),
                ('previous_effective_cost', models.DecimalField(decimal_places=6, max_digits=20)),
                ('change', models.DecimalField(decimal_places=6, max_digits=20)),
                ('cost_rank', models.BigIntegerField(help_text='1 = the highest effective cost of the month.')),
                ('change_rank', models.BigIntegerField(help_text='1 = the largest increase over the previous month.')),
            ],
            options={'db_table': 'finops_agg_application_ranking', 'ordering': ['period', 'cost_rank'], 'managed': False},
        ),
        migrations.CreateModel(
            name='CostByApplicationMonth',
            fields=_sums() + [
                ('pk', models.CompositePrimaryKey('period', 'domain', 'family', 'application', blank=True, editable=False, primary_key=True, serialize=False)),
            ],
            options={'db_table': 'finops_agg_application_month', 'ordering': ['period', 'application'], 'managed': False},
        ),
        migrations.CreateModel(
            name='CostByDomainMonth',
            fields=_sums() + [
                ('pk', models.CompositePrimaryKey('period', 'domain', blank=True, editable=False, primary_key=True, serialize=False)),
            ],
            options={'db_table': 'finops_agg_domain_month', 'ordering': ['period', 'domain'], 'managed': False},
        ),
        migrations.CreateModel(
            name='CostByFamilyMonth',
            fields=_sums() + [
                ('pk', models.CompositePrimaryKey('period', 'domain', 'family', blank=True, editable=False, primary_key=True, serialize=False)),
            ],
            options={'db_table': 'finops_agg_family_month', 'ordering': ['period', 'domain', 'family'], 'managed': False},
        ),
    ]
