"""Console › Logs: JSON lines with request and run ids; the viewer pages backwards with filters."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from django.urls import reverse

from accounts.console import logreader
from accounts.console.logcontext import ContextFilter, run_logging

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def _write(folder, name="web.log", count=1000):
    """`count` lines a minute apart; every 10th an ERROR from runs.services in a worker."""
    with open(folder / name, "w") as out:
        for i in range(count):
            error = i % 10 == 0
            out.write(json.dumps({
                "time": (T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S%z"),
                "level": "ERROR" if error else "INFO", "logger": "runs.services" if error else "django.request",
                "process": "worker" if error else "web", "pid": 4000 + (i % 3), "message": f"line {i}",
                "run_id": f"RUN-{i}" if error else None, "request_id": None,
            }) + "\n")


@pytest.fixture
def logs(settings, tmp_path):
    settings.LOG_DIR = str(tmp_path)
    _write(tmp_path)
    return tmp_path


@pytest.mark.parametrize("fixture,code", [
    ("admin_user", 200), ("governance", 200), ("ml_admin", 200),
    ("analyst", 403), ("viewer", 403), ("finops_admin", 403),
])
def test_logs_page_api_download_per_role(request, client_for, logs, fixture, code):
    client = client_for(request.getfixturevalue(fixture))
    assert client.get(reverse("console_ops:logs")).status_code == code
    assert client.get(reverse("console_ops:api_logs")).status_code == code
    assert client.get(reverse("console_ops:logs_download")).status_code == code


def test_anonymous_refused(client, logs):
    assert client.get(reverse("console_ops:logs")).status_code == 302
    assert client.get(reverse("console_ops:api_logs")).status_code == 401


def test_pages_newest_first_and_cursor_walks_to_the_start(logs):
    query = logreader.LogQuery()
    seen, cursor = [], None
    while True:
        page = logreader.read_page(source="web.log", query=query, cursor=cursor, limit=97)
        seen += [line["message"] for line in page.lines]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [f"line {i}" for i in range(999, -1, -1)]


def test_filters_level_text_logger_process_and_time(logs):
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(levels=frozenset({"ERROR"})), limit=5)
    assert [line["message"] for line in page.lines] == ["line 990", "line 980", "line 970", "line 960", "line 950"]
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(text="LINE 12"), limit=50)
    assert {line["message"] for line in page.lines} == {"line 12", *(f"line {i}" for i in range(120, 130))}
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(logger="runs."), limit=1000)
    assert len(page.lines) == 100
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(process="4001"), limit=1000)
    assert len(page.lines) == 333 and all(line["pid"] == 4001 for line in page.lines)
    since, until = T0 + timedelta(minutes=100), T0 + timedelta(minutes=109)
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(since=since, until=until), limit=1000)
    assert [line["message"] for line in page.lines] == [f"line {i}" for i in range(109, 99, -1)]
    # The bounds limit the read: "until" finds its place by bisection, "since" stops the read.
    assert page.scanned_bytes < 20 * 200


def test_a_page_reads_a_bounded_part_of_the_file(logs):
    size = (logs / "web.log").stat().st_size
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(text="no such text"), limit=10,
                               scan_bytes=65536)
    assert page.lines == [] and page.next_cursor
    assert page.scanned_bytes <= 65536 + logreader.BLOCK and page.scanned_bytes < size


def test_api_filters_and_bad_input(client_for, admin_user, logs):
    client = client_for(admin_user)
    body = client.get(reverse("console_ops:api_logs"), {"level": "error", "limit": 3, "chart": "1"}).json()
    assert [line["run_id"] for line in body["results"]] == ["RUN-990", "RUN-980", "RUN-970"]
    assert body["next_cursor"] and body["chart"]["levels"]["ERROR"]
    older = client.get(reverse("console_ops:api_logs"), {"level": "ERROR", "limit": 3, "cursor": body["next_cursor"]}).json()
    assert older["results"][0]["run_id"] == "RUN-960"
    for params in ({"level": "LOUD"}, {"cursor": "garbage"}, {"cursor": "WzFlOTk5LDEsMV0"}, {"cursor": "W1tdXQ"}, {"source": "../../etc/passwd"}, {"since": "yesterday"},
                   {"limit": "x"}):
        assert client.get(reverse("console_ops:api_logs"), params).status_code == 400, params


def test_a_cursor_into_a_rotated_file_is_refused(logs, client_for, admin_user):
    page = logreader.read_page(source="web.log", query=logreader.LogQuery(), limit=10)
    (logs / "web.log").rename(logs / "web.log.1")
    _write(logs, count=5)
    with pytest.raises(logreader.LogError, match="rotated"):
        logreader.read_page(source="web.log", query=logreader.LogQuery(), cursor=page.next_cursor)
    assert "web.log.1" in logreader.log_sources()


def test_download_streams_the_filtered_lines(client_for, governance, logs):
    response = client_for(governance).get(reverse("console_ops:logs_download"), {"level": "ERROR", "q": "line 99"})
    assert response.status_code == 200
    lines = [json.loads(x) for x in b"".join(response.streaming_content).splitlines()]
    assert [line["message"] for line in lines] == ["line 990"]


def test_page_shows_lines_chart_and_older_link(client_for, ml_admin, logs):
    html = client_for(ml_admin).get(reverse("console_ops:logs"), {"level": "ERROR"}).content.decode()
    assert "line 990" in html and "line 991" not in html
    assert 'id="logs-chart-data"' in html and 'id="logs-older"' not in html  # all 100 on one page
    html = client_for(ml_admin).get(reverse("console_ops:logs")).content.decode()
    assert "line 999" in html and "line 899" not in html and 'id="logs-older"' in html
    assert "<script>" not in html.replace('<script src=', '')  # data by json_script only, no inline code


def test_json_lines_carry_request_id_and_run_id(tmp_path, client_for, admin_user):
    from config.logging import build_logging

    config = build_logging(log_dir=str(tmp_path), level="INFO", max_bytes=10_000, backup_count=1, role="web")
    handler_conf = config["handlers"]["file"]
    handler = logging.handlers.RotatingFileHandler(handler_conf["filename"], maxBytes=10_000, backupCount=1)
    from pythonjsonlogger.json import JsonFormatter

    formatter_conf = dict(config["formatters"]["json"])
    formatter_conf.pop("()")
    handler.setFormatter(JsonFormatter(**formatter_conf))
    handler.addFilter(ContextFilter(role="web"))
    log = logging.getLogger("runsight.test.logs")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with run_logging("SIM-1"):
            log.info("inside a run")
        response = client_for(admin_user).get(reverse("home"), HTTP_X_REQUEST_ID="req-12345678")
        assert response["X-Request-ID"] == "req-12345678"
        from accounts.console.logcontext import request_id_var

        token = request_id_var.set("req-abcdefgh")
        log.warning("inside a request")
        request_id_var.reset(token)
        handler.flush()
        first = [json.loads(line) for line in (tmp_path / "web.log").read_text().splitlines()[:2]]
        for _ in range(200):  # rotation by size
            log.info("x" * 100)
    finally:
        log.removeHandler(handler)
        handler.close()
    assert (tmp_path / "web.log.1").exists() and (tmp_path / "web.log").stat().st_size <= 10_000
    assert first[0]["run_id"] == "SIM-1" and first[0]["message"] == "inside a run"
    assert {"time", "level", "logger", "process", "pid", "message"} <= set(first[0])
    assert first[1]["request_id"] == "req-abcdefgh" and first[1]["level"] == "WARNING"


def test_an_unsafe_request_id_is_replaced(client_for, admin_user):
    response = client_for(admin_user).get(reverse("home"), HTTP_X_REQUEST_ID="<script>\r\nx")
    assert response["X-Request-ID"] != "<script>\r\nx" and len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize("argv,role", [
    (["/venv/bin/celery", "-A", "config", "worker", "-Q", "celery"], "worker"),
    (["/venv/lib/python3.11/site-packages/celery/__main__.py", "-A", "config", "worker"], "worker"),
    (["/venv/bin/celery", "-A", "config", "beat"], "beat"),
    (["manage.py", "runserver", "8000"], "web"),
    (["manage.py", "health"], "command"),
    (["/venv/bin/gunicorn", "config.wsgi"], "web"),
])
def test_each_process_role_has_its_file(argv, role):
    from config.logging import process_role

    assert process_role(argv) == role


def test_log_records_carry_the_run_id_while_its_executor_works(analyst):
    from accounts.console.logcontext import run_id_var
    from runs.context import RunContext
    from runs.models import Run

    run = Run.objects.create(kind="demo", owner=analyst, params={})
    record = logging.LogRecord("runs.x", logging.INFO, __file__, 1, "working", None, None)
    with RunContext(run):
        ContextFilter(role="worker").filter(record)
    assert record.run_id == run.run_id and record.process_name == "worker"
    assert run_id_var.get() is None  # reset once the executor is done
