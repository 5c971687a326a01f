"""The audit chain stays whole when many writers append at once (PostgreSQL: advisory lock)."""
from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections

from accounts.models import AuditEvent
from accounts.services import audit_record
from tests.support import services_missing

pytestmark = [pytest.mark.services]


def test_concurrent_writers_keep_one_chain(transactional_db):
    reason = services_missing()
    if reason or connection.vendor != "postgresql":
        pytest.skip(reason or "needs PostgreSQL")
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                audit_record(actor=None, action="x.concurrent", target=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert AuditEvent.objects.filter(action="x.concurrent").count() == 120
    hashes = list(AuditEvent.objects.order_by("id").values_list("prev_hash", flat=True))
    assert len(set(hashes)) == len(hashes)  # no two entries chained to the same predecessor
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()
