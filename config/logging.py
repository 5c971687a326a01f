"""Logging: structured JSON lines in rotated files, plus the console for `make run`.

Each process writes its own file under LOG_DIR (web.log, worker.log, beat.log,
command.log): RotatingFileHandler is not safe with several processes rotating one
file, so each process role gets one. Every line is one JSON object with time,
level, logger, process (role and pid), message, and run_id / request_id where
the code runs for a run or a request (accounts.console.logcontext).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def process_role(argv: list[str] | None = None) -> str:
    """web, worker, beat, command or test, from the command line that started this process."""
    argv = sys.argv if argv is None else argv
    words = [Path(a).name for a in argv[:4]]
    if any(w.startswith("pytest") or w == "py.test" for w in words[:2]):
        return "test"
    # `celery -A config worker`, or `python -m celery …` (argv[0] is then celery/__main__.py).
    by_module = bool(argv) and "celery" in Path(argv[0]).parts
    if by_module or any(w == "celery" or w.startswith("celery") for w in words):
        if "beat" in argv:
            return "beat"
        return "worker"
    if "manage.py" in words and len(argv) > 1:
        return "web" if argv[1] in ("runserver", "runserver_plus") else "command"
    return "web"


def build_logging(*, log_dir: str, level: str, max_bytes: int, backup_count: int, role: str) -> dict[str, Any]:
    handlers: dict[str, Any] = {"console": {"class": "logging.StreamHandler", "formatter": "plain"}}
    root_handlers = ["console"]
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        handlers["file"] = {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(Path(log_dir) / f"{role}.log"),
            "maxBytes": max_bytes,
            "backupCount": backup_count,
            "encoding": "utf-8",
            "formatter": "json",
            "filters": ["context"],
        }
        root_handlers.append("file")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "accounts.console.logcontext.ContextFilter", "role": role}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(process_name)s %(process)d %(message)s %(run_id)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid",
                                  "process_name": "process"},
                "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            },
        },
        "handlers": handlers,
        "root": {"handlers": root_handlers, "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
