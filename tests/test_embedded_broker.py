"""The embedded broker: messages appear whole, and a waiting consumer gets one within its polling interval."""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from django.conf import settings
from kombu import Connection, Consumer, Exchange, Producer, Queue

import config.broker

QUEUE = "celery"


def _options(folder: Path, polling_interval: float = 0.01) -> dict:
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        "polling_interval": polling_interval,
    }


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[Connection]:
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    with Connection("filesystem://localhost/", transport="config.broker:Transport",
                    transport_options=_options(tmp_path)) as conn:
        yield conn


def test_it_is_the_transport_of_the_embedded_default():
    if settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("REDIS_URL is set: Redis is the broker")
    assert settings.CELERY_BROKER_TRANSPORT == "config.broker:Transport"
    # kombu's default (1 s) made a launch wait up to a second before it started.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] <= 0.1


def test_it_never_shows_a_consumer_a_message_before_it_is_whole(connection, tmp_path, monkeypatch):
    channel = connection.default_channel
    queue = tmp_path / "queue"
    seen_at_rename: list[tuple[int, list[str]]] = []
    real_replace = os.replace

    def watching_replace(src: str, dst: str) -> None:
        # What a consumer would find at the last moment before the message is published.
        seen_at_rename.append((channel._size(QUEUE), sorted(os.listdir(queue))))
        real_replace(src, dst)

    monkeypatch.setattr(config.broker.os, "replace", watching_replace)
    payload = {"body": "x" * 200_000, "headers": {}, "properties": {"delivery_tag": "t"}}
    channel._put(QUEUE, payload)

    (size_before, names_before), = seen_at_rename
    assert size_before == 0  # the written-but-unpublished file is not counted as a message
    assert len(names_before) == 1 and names_before[0].startswith(".") and names_before[0].endswith(".part")
    names = os.listdir(queue)
    assert len(names) == 1 and names[0].endswith(f".{QUEUE}.msg") and not names[0].startswith(".")
    assert json.loads((queue / names[0]).read_bytes())["body"] == payload["body"]
    assert channel._get(QUEUE)["body"] == payload["body"]
    assert os.listdir(queue) == []


def test_it_delivers_every_message_whole_to_a_consumer_polling_while_they_are_written(connection, tmp_path):
    queue_dir = tmp_path / "queue"
    stop = threading.Event()
    broken: list[str] = []
    read = 0

    def reader() -> None:
        # A consumer's view: every name kombu would take, read without a lock.
        nonlocal read
        while not stop.is_set():
            for name in os.listdir(queue_dir):
                if name.partition(".")[2] != f"{QUEUE}.msg":
                    continue
                try:
                    data = (queue_dir / name).read_bytes()
                except FileNotFoundError:
                    continue
                try:
                    json.loads(data)
                    read += 1
                except ValueError:
                    broken.append(name)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        channel = connection.default_channel
        for number in range(100):
            channel._put(QUEUE, {"body": f"{number:03d}" + "y" * 300_000})
    finally:
        stop.set()
        thread.join()
    assert broken == []
    assert read > 0
    bodies = sorted(channel._get(QUEUE)["body"][:3] for _ in range(100))
    assert bodies == [f"{n:03d}" for n in range(100)]


def test_a_waiting_consumer_gets_a_message_within_its_polling_interval(connection):
    # A name of its own: kombu keeps declared exchanges and bindings in one state per
    # process, which earlier tests of the suite may have filled under "celery".
    name = f"latency-{uuid.uuid4().hex}"
    exchange = Exchange(name, type="direct")
    queue = Queue(name, exchange, routing_key=name)
    received: list[float] = []
    errors: list[BaseException] = []
    ready = threading.Event()

    def consume() -> None:
        try:
            with connection.clone() as conn:
                with Consumer(conn, [queue], callbacks=[lambda body, message: (received.append(time.monotonic()),
                                                                                message.ack())]):
                    ready.set()
                    deadline = time.monotonic() + 10
                    while not received and time.monotonic() < deadline:
                        try:
                            conn.drain_events(timeout=0.5)
                        except TimeoutError:
                            pass
        except BaseException as exc:  # shown by the assertion below, not lost with the thread
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=consume)
    thread.start()
    assert ready.wait(5)
    time.sleep(0.3)  # the consumer is asleep between two polls
    sent = time.monotonic()
    Producer(connection).publish({"run": "x"}, exchange=exchange, routing_key=name, declare=[queue])
    thread.join(15)
    assert not errors, errors
    assert received, "the message never arrived"
    # Polling every 10 ms: well under kombu's default second, with room for a loaded machine.
    assert received[0] - sent < 0.5


def test_it_refuses_a_polling_interval_that_is_not_a_positive_number():
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", CELERY_BROKER_POLLING_INTERVAL="0")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "CELERY_BROKER_POLLING_INTERVAL" in result.stderr
