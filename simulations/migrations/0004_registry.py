"""The model registry: registered models, versions, aliases."""
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0009_comparison_order'),
        ('simulations', '0003_training'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RegisteredModel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField(help_text='Letters, digits, - and _; used in URLs.', max_length=100, unique=True)),
                ('description', models.CharField(blank=True, max_length=500)),
                ('model_card', models.TextField(blank=True, help_text='Markdown; rendered as text (no raw HTML).')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('archived_at', models.DateTimeField(blank=True, null=True)),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ModelVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('source_run_id', models.CharField(max_length=40)),
                ('model_type', models.CharField(max_length=32)),
                ('params', models.JSONField(blank=True, default=dict)),
                ('dataset_id', models.BigIntegerField(blank=True, null=True)),
                ('dataset_name', models.CharField(blank=True, max_length=200)),
                ('dataset_sha256', models.CharField(max_length=64)),
                ('metrics', models.JSONField(blank=True, default=dict)),
                ('artifact_name', models.CharField(max_length=200)),
                ('artifact_sha256', models.CharField(max_length=64)),
                ('run_checksum', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('notes', models.TextField(blank=True)),
                ('archived_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='model_versions', to='runs.run')),
                ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='simulations.registeredmodel')),
            ],
            options={
                'ordering': ['model', '-number'],
            },
        ),
        migrations.CreateModel(
            name='ModelAlias',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField()),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='aliases', to='simulations.modelversion')),
                ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='aliases', to='simulations.registeredmodel')),
            ],
            options={
                'ordering': ['model', 'name'],
            },
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(fields=('model', 'number'), name='modelversion_number_unique'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(fields=('model', 'source_run_id'), name='modelversion_run_once'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='modelversion_number_positive'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.CheckConstraint(condition=models.Q(('artifact_sha256', ''), _negated=True), name='modelversion_artifact_sha_present'),
        ),
        migrations.AddConstraint(
            model_name='modelalias',
            constraint=models.UniqueConstraint(fields=('model', 'name'), name='modelalias_unique'),
        ),
    ]
