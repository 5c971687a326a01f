"""Bulk import's fast path: the lean check of a run document accepts only what the checks of a
single import accept and reads it the same way; the COPY rows keep every character; two batches
in flight on PostgreSQL store what one batch after the other stores."""
from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import orjson
import pytest
from django.db import connection

from accounts.console.context import audit_context
from accounts.models import AuditEvent
from runs.hashing import params_hash
from runs.models import Run, RunLog
from runs.services import exchange_bulk
from runs.services.exchange import ImportRefused, _parse_document
from runs.services.exchange_bulk import BulkImportRefused, _lean_document, runs_import_bulk

from .test_exchange_bulk import document, jsonl

pytestmark = pytest.mark.django_db

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 7, 101, 1.5, 2.0, 2 ** 63, 1e300, "", " ", "x" * 300, "not a date",
    "2025-01-01", "2025-13-01T00:00:00", "2025-01-01T10:00:00", "2025-01-01 10:00:00+02:00",
    "SUCCEEDED", "RUNNING", "MANUAL", "demo", "nope", "0" * 64, "A" * 64, str(uuid.uuid4()), [], ["a"],
    ["", "b"], [" a ", "a"], [1], {}, {"a": 1}, {"a": {"b": [1, 2.5, None]}}, {"a": 1.0},
]


def broken_documents() -> list[dict[str, Any]]:
    """A valid document, then every run field and log field missing or set to odd values."""
    base = document(3, parent_id=str(uuid.uuid4()), parent="run_x", progress=100, is_favourite=True,
                    heartbeat_at=None, notes="n", error_message="", code_version="v1", worker="w", seed=3)
    docs = [base]
    for key in list(base["run"]) + ["started_at", "unknown"]:
        missing = copy.deepcopy(base)
        missing["run"].pop(key, None)
        docs.append(missing)
        for value in ODD_VALUES:
            changed = copy.deepcopy(base)
            changed["run"][key] = copy.deepcopy(value)
            docs.append(changed)
    for key in ("created_at", "level", "message"):
        for value in ODD_VALUES:
            changed = copy.deepcopy(base)
            changed["logs"][0][key] = copy.deepcopy(value)
            docs.append(changed)
    for key, value in (("format", "other"), ("version", 2), ("version", True), ("version", 1.0), ("run", []),
                       ("logs", {}), ("logs", [1]), ("artifacts", None), ("artifacts", [{}])):
        changed = copy.deepcopy(base)
        changed[key] = value
        docs.append(changed)
    return docs


def full_checks(doc: dict[str, Any]) -> Any:
    try:
        return _parse_document(copy.deepcopy(doc), with_data=True, where="Line 1: ")
    except (ImportRefused, ValueError) as exc:
        return exc


def test_the_lean_check_accepts_only_what_the_full_checks_accept_and_reads_it_the_same() -> None:
    accepted = refused = 0
    for doc in broken_documents():
        expected = full_checks(doc)
        lean = _lean_document(orjson.loads(json.dumps(doc)))
        if lean is None:
            refused += 1
            continue
        accepted += 1
        assert not isinstance(expected, Exception), (doc, expected)
        assert lean.run == expected.run, doc
        assert (lean.logs, lean.artifacts, lean.declared_checksum) == (expected.logs, [], expected.declared_checksum)
    assert accepted > 50 and refused > 200  # both ways are exercised


def test_parameters_the_canonical_hash_spells_otherwise_are_still_accepted() -> None:
    params = {"b": 2.0, "a": 1e-7, "c": [1.0, {"z": "é\n"}]}  # an integral float, an exponent, nesting
    doc = document(1, params=params, params_hash=params_hash(params))
    lean = _lean_document(orjson.loads(json.dumps(doc)))
    assert lean is not None and lean.run["params_hash"] == params_hash(params)


def test_an_integer_beyond_64_bits_keeps_every_digit(analyst: Any) -> None:
    # orjson would read it as a float: the line goes through the json module instead.
    doc = document(1, metrics={"n": 123456789012345678901234567890})
    runs_import_bulk(file=jsonl([doc]), actor=analyst)
    assert Run.objects.get(pk=doc["run"]["id"]).metrics == {"n": 123456789012345678901234567890}


@pytest.mark.parametrize("line, words", [
    (b'{"format": "runsight.run", "version": 1, "run": {"x": NaN}, "logs": [], "artifacts": []}', "malformed JSON"),
    (b'{"format": "runsight.run", "version": 1, "run": {}, "logs": [], "artifacts": []}', "run.id is missing"),
    (b'{"format": "runsight.run", "version": 1, "run": {"id": "a\\u0000"}, "logs": [], "artifacts": []}', "NUL"),
])
def test_a_refused_line_says_what_a_single_import_says(analyst: Any, line: bytes, words: str) -> None:
    with pytest.raises(BulkImportRefused) as refused:
        runs_import_bulk(file=jsonl([document(0)]) + line + b"\n", actor=analyst)
    assert "line 2" in refused.value.message.lower() and words in refused.value.message


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_given(analyst: Any) -> None:
    odd = 'a\tb\nc\\d\re "q" \\N é'
    doc = document(1, notes=odd, error_message=odd, metrics={"label": odd, "x": 1e-7}, tags=["t\\1"])
    doc["logs"][0]["message"] = odd
    runs_import_bulk(file=jsonl([doc]), actor=analyst)
    run = Run.objects.get(pk=doc["run"]["id"])
    assert (run.notes, run.error_message, run.metrics) == (odd, odd, {"label": odd, "x": 1e-7})
    assert list(run.tags.values_list("name", flat=True)) == ["t\\1"]
    assert RunLog.objects.filter(run=run, message=odd).exists()


@pytest.mark.django_db(transaction=True)
def test_two_batches_in_flight_store_what_one_after_the_other_stores(analyst: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("batches are written side by side on PostgreSQL only")
    assert exchange_bulk._writers() == 2
    docs = [document(i) for i in range(20)]
    docs[13]["run"]["run_id"] = docs[2]["run"]["run_id"]  # another run, the same run id, a later batch
    docs[17] = copy.deepcopy(docs[5])  # the same run twice, in another batch
    docs[9]["run"]["parent_id"] = docs[1]["run"]["id"]  # its parent is in an earlier batch
    docs[3]["run"]["parent_id"] = docs[18]["run"]["id"]  # its parent comes later in the file
    with audit_context("api", "192.0.2.7"):
        result = runs_import_bulk(file=jsonl(docs), actor=analyst, batch_size=3)
    assert (result.imported, result.skipped, result.renamed, result.batches) == (19, 1, 1, 7)
    events = AuditEvent.objects.filter(action="run.bulk_import")
    assert events.count() == 7 and {(e.surface, e.address) for e in events} == {("api", "192.0.2.7")}
    assert Run.objects.count() == 19
    assert Run.objects.get(pk=docs[13]["run"]["id"]).run_id != docs[2]["run"]["run_id"]
    assert Run.objects.get(pk=docs[9]["run"]["id"]).parent_id == uuid.UUID(docs[1]["run"]["id"])
    assert Run.objects.get(pk=docs[3]["run"]["id"]).parent_id == uuid.UUID(docs[18]["run"]["id"])
    assert not RunLog.objects.filter(run_id=docs[9]["run"]["id"], message__contains="not in this installation").exists()
    assert RunLog.objects.filter(run_id=docs[3]["run"]["id"], message__contains="not in this installation").exists()
    assert RunLog.objects.count() == 19 * 2 + 2  # each: its line and the import line; the rename; the late parent
    again = runs_import_bulk(file=jsonl(docs), actor=analyst, batch_size=3)
    assert (again.imported, again.skipped) == (0, 20)


@pytest.mark.django_db(transaction=True)
def test_in_flight_a_bad_line_keeps_the_batches_before_it(analyst: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("batches are written side by side on PostgreSQL only")
    docs = [document(i) for i in range(12)]
    docs[10]["run"]["params_hash"] = "0" * 64
    with pytest.raises(BulkImportRefused) as refused:
        runs_import_bulk(file=jsonl(docs), actor=analyst, batch_size=2)
    assert "Line 11" in refused.value.message and "params_hash does not match" in refused.value.message
    assert refused.value.result.imported == 10
    assert Run.objects.count() == 10
