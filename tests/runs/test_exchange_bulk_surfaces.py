"""Bulk import from the page and the API: the same service, the same refusals."""
from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from runs.models import Run
from tests.runs.test_exchange_bulk import document, jsonl

pytestmark = pytest.mark.django_db


def _upload(data: bytes, name: str = "runs.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_the_api_imports_a_file_and_says_what_it_did(client_for: Any, analyst: Any) -> None:
    answer = client_for(analyst).post("/api/runs/import/bulk/", {"file": _upload(jsonl([document(i) for i in range(4)]))})
    assert answer.status_code == 201, answer.content
    assert answer.json()["imported"] == 4 and answer.json()["skipped"] == 0
    again = client_for(analyst).post("/api/runs/import/bulk/", {"file": _upload(jsonl([document(i) for i in range(2)]))})
    assert again.status_code == 201 and again.json()["imported"] == 2
    assert Run.objects.count() == 6


def test_the_api_names_the_refused_line(client_for: Any, analyst: Any) -> None:
    docs = [document(i) for i in range(3)]
    docs[2]["run"]["status"] = "RUNNING"
    answer = client_for(analyst).post("/api/runs/import/bulk/", {"file": _upload(jsonl(docs))})
    assert answer.status_code == 400
    assert "Line 3" in answer.json()["detail"] and "only finished runs" in answer.json()["detail"]
    assert answer.json()["imported"] == 0
    assert not Run.objects.exists()


def test_the_api_refuses_a_viewer(client_for: Any, viewer: Any) -> None:
    answer = client_for(viewer).post("/api/runs/import/bulk/", {"file": _upload(jsonl([document(1)]))})
    assert answer.status_code == 403
    assert not Run.objects.exists()


def test_the_api_refuses_a_missing_file(client_for: Any, analyst: Any) -> None:
    assert client_for(analyst).post("/api/runs/import/bulk/", {}).status_code == 400


def test_the_page_imports_and_reports(client_for: Any, analyst: Any) -> None:
    client = client_for(analyst)
    assert client.get("/runs/import/bulk/").status_code == 200
    answer = client.post("/runs/import/bulk/", {"file": _upload(jsonl([document(i) for i in range(3)]))}, follow=True)
    assert answer.status_code == 200
    assert "Imported 3 run(s)" in answer.content.decode()
    assert Run.objects.count() == 3


def test_the_page_shows_a_refusal_and_writes_nothing(client_for: Any, analyst: Any) -> None:
    answer = client_for(analyst).post("/runs/import/bulk/", {"file": _upload(b"not json at all")})
    assert answer.status_code == 400
    assert "Unknown file format" in answer.content.decode()
    assert not Run.objects.exists()


def test_the_page_is_refused_to_a_viewer(client_for: Any, viewer: Any) -> None:
    assert client_for(viewer).get("/runs/import/bulk/").status_code == 403
