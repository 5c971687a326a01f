"""Trigram indexes for the run list's free-text search, on PostgreSQL only.

`icontains` on run ids, notes and tag names cannot use a B-tree index; pg_trgm's
GIN indexes serve it. Other databases skip this migration's SQL.
"""
from django.db import migrations

INDEXES = {
    "run_run_id_trgm": 'runs_run USING gin (upper(("run_id")::text) gin_trgm_ops)',
    "run_notes_trgm": 'runs_run USING gin (upper(("notes")::text) gin_trgm_ops)',
    "tag_name_trgm": 'runs_tag USING gin (upper(("name")::text) gin_trgm_ops)',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("runs", "0003_list_indexes")]

    operations = [migrations.RunPython(create, drop)]
