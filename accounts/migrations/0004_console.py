import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def chain_existing(apps, schema_editor):
    """Chain the entries written before the trail was chained, oldest first."""
    from accounts.console.audit_chain import canonical_detail, entry_digest

    AuditEvent = apps.get_model("accounts", "AuditEvent")
    previous = ""
    for event in AuditEvent.objects.select_related("actor").order_by("id").iterator():
        actor_name = event.actor.username if event.actor_id else ""
        detail = canonical_detail(event.detail)
        digest = entry_digest(created_at=event.created_at, actor_name=actor_name, action=event.action,
                              target=event.target, detail=detail, surface="system", address=None,
                              prev_hash=previous)
        AuditEvent.objects.filter(pk=event.pk).update(
            actor_name=actor_name, detail=detail, surface="system", prev_hash=previous, entry_hash=digest
        )
        previous = digest


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_governance"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["-created_at", "-id"]}),
        migrations.AddField(
            model_name="apikey",
            name="expires_at",
            field=models.DateTimeField(blank=True, help_text="After this moment the key is refused.", null=True),
        ),
        migrations.AddField(
            model_name="auditevent", name="actor_name",
            field=models.CharField(blank=True, db_index=True, max_length=150),
        ),
        migrations.AddField(model_name="auditevent", name="address",
                            field=models.GenericIPAddressField(blank=True, null=True)),
        migrations.AddField(model_name="auditevent", name="entry_hash",
                            field=models.CharField(blank=True, db_index=True, max_length=64)),
        migrations.AddField(model_name="auditevent", name="prev_hash",
                            field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(
            model_name="auditevent", name="surface",
            field=models.CharField(
                choices=[("page", "Page"), ("api", "API"), ("admin", "Admin"), ("command", "Command"),
                         ("system", "System")],
                default="system", max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent", name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.CreateModel(
            name="UserPreference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("page_size", models.PositiveSmallIntegerField(
                    choices=[(10, "10"), (25, "25"), (50, "50"), (100, "100")], default=25)),
                ("time_zone", models.CharField(default="UTC", max_length=64)),
                ("date_format", models.CharField(
                    choices=[("Y-m-d H:i", "2026-11-30 14:05"), ("d/m/Y H:i", "30/11/2026 14:05"),
                             ("m/d/Y g:i A", "11/30/2026 2:05 PM")], default="Y-m-d H:i", max_length=20)),
                ("theme", models.CharField(choices=[("light", "Light"), ("dark", "Dark")], default="light", max_length=8)),
                ("run_filters", models.JSONField(blank=True, default=dict, help_text="Default filters of the run list.")),
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="preference",
                                              to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name="UserSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_key", models.CharField(max_length=40, unique=True)),
                ("user_agent", models.CharField(blank=True, max_length=300)),
                ("address", models.GenericIPAddressField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_seen", models.DateTimeField(default=django.utils.timezone.now)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="signed_sessions",
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-last_seen"]},
        ),
    ]
