"""PostgreSQL: the aggregates are materialized views refreshed CONCURRENTLY, the readings loaded by COPY."""
from __future__ import annotations

import pytest
from django.db import connection

from finops_admin.aggregate_sql import AGGREGATES
from finops_admin.models import AggregateRefresh, CostByApplicationMonth, CostReading
from runs.models import RunStatus
from runs.services import run_create

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")


def test_the_aggregates_are_materialized_views_with_unique_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT matviewname FROM pg_matviews WHERE matviewname LIKE 'finops_agg_%'")
        views = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'finops_agg_%' AND indexdef LIKE 'CREATE UNIQUE%'")
        unique = {row[0] for row in cursor.fetchall()}
    names = {name for name, *_ in AGGREGATES}
    assert views == names
    assert unique == {f"{name}_key" for name in names}


def test_a_batch_on_postgresql_copies_and_refreshes_concurrently(sources, finops_admin_user,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="finops_batch", params={"periods": "2026-10,2026-11"}, owner=finops_admin_user)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert AggregateRefresh.objects.filter(batch__run=run).count() == 5
    assert sum(r.readings for r in CostByApplicationMonth.objects.all()) == CostReading.objects.count() > 0
    # CONCURRENTLY needs each view's unique index: it works on the populated views.
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY finops_agg_application_month")
        cursor.execute("SELECT COUNT(*) FROM finops_agg_application_month")
        assert cursor.fetchone()[0] == CostByApplicationMonth.objects.count()
