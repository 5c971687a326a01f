import django.utils.timezone
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
    dependencies = [("accounts", "0003_governance")]

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
    ]
