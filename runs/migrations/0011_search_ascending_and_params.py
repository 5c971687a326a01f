"""Run search on PostgreSQL: ascending metric sorts indexed, and planner statistics for
the simulation parameters people filter by.

- 0010's indexes are `DESC NULLS LAST` ("largest first, runs without the metric last").
  An ascending sort keeps the runs without the metric last too (`ASC NULLS LAST`), an
  order that index cannot give read backwards (it would put them first): without an
  index of its own, "smallest RWA first" read and sorted every simulation run (6 s at
  1,000,000 runs). One `ASC NULLS LAST` index per indexed metric serves it.
- `params.mix = retail AND params.positions >= 250000` reads only a few hundred rows
  for its page, but the planner, knowing nothing of the values inside `params`,
  guessed 1,250 matching runs instead of 50,000, so the list counted them exactly
  (a full read of the table, 1 s) instead of taking the estimate. Extended statistics
  on the two expressions the query language compiles them to (runs.query.expressions),
  together with `kind` (only simulations carry them), give the planner the real
  frequencies; nothing is written on each run as an index would be.

SQLite needs none of this.
"""
from django.db import migrations

# The metrics of 0010 (its INDEXED_METRICS), each now indexed in both directions.
INDEXED_METRICS = ("lcr", "nsfr", "cet1_ratio", "total_rwa", "rwa_total")

# runs.query.expressions.JsonText and JsonNumber as PostgreSQL spells them: a statistics
# object helps only a query whose expression is exactly this one.
PARAM_TEXT = "(CASE WHEN jsonb_typeof((params -> '{key}')) IN ('string', 'number', 'boolean') THEN (params ->> '{key}') END)"
PARAM_NUMBER = "runsight_num((params -> '{key}'))"
PARAMS_STATISTICS = "run_params_stats"


def index_name(key: str) -> str:
    return f"run_metric_{key}_asc_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for key in INDEXED_METRICS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(key)} ON runs_run "
            f"(runsight_num(metrics -> '{key}') ASC NULLS LAST)"
        )
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {PARAMS_STATISTICS} (mcv, dependencies) ON "
        f"{PARAM_TEXT.format(key='mix')}, {PARAM_NUMBER.format(key='positions')}, {PARAM_TEXT.format(key='positions')}, kind "
        "FROM runs_run"
    )
    # Statistics are empty until the table is analysed; a sample of 30,000 rows, seconds at 1M runs.
    schema_editor.execute("ANALYZE runs_run")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {PARAMS_STATISTICS}")
    for key in INDEXED_METRICS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(key)}")


class Migration(migrations.Migration):

    # CREATE INDEX inside the migration's transaction: the table is locked for writes
    # while the indexes build (about ten seconds each at 1,000,000 runs).
    dependencies = [("runs", "0010_search")]

    operations = [migrations.RunPython(create, drop)]
