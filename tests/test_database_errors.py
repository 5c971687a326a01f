"""A request that loses the database answers 503 with Retry-After; other errors stay 500."""
from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from config.database_errors import DatabaseUnavailableMiddleware


def _middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: None)


def test_it_is_installed():
    assert "config.database_errors.DatabaseUnavailableMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"), InterfaceError("connection already closed")])
def test_an_api_request_that_loses_the_database_answers_503_json(error):
    request = RequestFactory().post("/api/runs/")
    response = _middleware().process_exception(request, error)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "unavailable" in json.loads(response.content)["detail"]


def test_a_page_that_loses_the_database_answers_a_503_page_without_the_database():
    response = _middleware().process_exception(RequestFactory().get("/runs/"), OperationalError("timeout"))
    assert response.status_code == 503 and b"503" in response.content and response["Retry-After"]


def test_other_errors_are_left_to_the_500_handler():
    assert _middleware().process_exception(RequestFactory().get("/api/runs/"), ValueError("bug")) is None


@pytest.mark.django_db
def test_a_view_failing_on_the_database_answers_503_through_the_stack(client, monkeypatch, analyst):
    """The whole request path, with the database connection itself made to fail."""
    from django.db import connection

    client.force_login(analyst)

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/api/runs/")
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"
