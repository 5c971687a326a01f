"""The monthly FinOps batch: a django-celery-beat schedule (editable in the admin, Periodic tasks).

On the 1st of each month at 03:00 UTC, beat sends `finops_admin.scheduled_batch`, which
launches a batch with its default parameters (trigger CRON): the month that starts and
a recompute of the one that just ended, every domain, FINOPS_SOURCE_DIR.
"""
from django.db import migrations

TASK_NAME = "FinOps monthly batch"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="1", month_of_year="*", timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "finops_admin.scheduled_batch",
            "crontab": crontab,
            "enabled": True,
            "description": "Monthly FinOps batch (trigger CRON, default parameters). Edit the schedule here.",
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME, task="finops_admin.scheduled_batch").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("finops_admin", "0003_aggregates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
