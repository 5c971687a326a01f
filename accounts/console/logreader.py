"""Reading the application's JSON log files backwards, a page at a time.

A page starts at a byte offset (the end of the file, or the cursor the previous
page returned) and reads blocks towards the start of the file until it holds
`limit` matching lines or has read `scan_bytes`; it never reads the whole file,
so paging costs the same on a 1 GB file as on a small one. The cursor is opaque
to clients: it names the offset and the file's identity (device, inode), so a
cursor into a file that has since been rotated is refused rather than misread.
Lines are in time order within a file (one process role appends to it), so a
"since" bound stops the read.
"""
from __future__ import annotations

import base64
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from django.conf import settings

BLOCK = 256 * 1024
MAX_LINE = 1024 * 1024  # a longer "line" (no newline for a megabyte) is skipped, not accumulated
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}\.log(\.[0-9]{1,3})?$")
_TIME = re.compile(rb'"time": "([0-9T:+\-Z.]{19,40})"')
_LEVEL = re.compile(rb'"level": "([A-Z]{3,10})"')


class LogError(ValueError):
    """Bad input from a client: an unknown source, a cursor that no longer applies."""


@dataclass
class LogQuery:
    levels: frozenset[str] = frozenset()
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None
    logger: str = ""
    process: str = ""

    def unfiltered(self) -> bool:
        return not (self.levels or self.text or self.since or self.until or self.logger or self.process)


@dataclass
class LogPage:
    source: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    scanned_bytes: int = 0
    file_size: int = 0


def log_dir() -> Path:
    return Path(settings.LOG_DIR)


def log_sources() -> list[str]:
    """The log files a viewer may open: LOG_DIR's *.log files and their rotated copies."""
    folder = log_dir()
    if not settings.LOG_DIR or not folder.is_dir():
        return []
    names = [entry.name for entry in os.scandir(folder) if entry.is_file() and _SOURCE.match(entry.name)]
    return sorted(names, key=lambda n: (n.split(".log")[0], len(n), n))


def source_path(name: str) -> Path:
    # Only names listed above: a client never chooses a path.
    if not _SOURCE.match(name or "") or name not in log_sources():
        raise LogError(f"unknown log source {name!r}")
    return log_dir() / name


def parse_time(value: str) -> datetime | None:
    # Fast path for the form config/logging.py writes in UTC ("2026-11-30T13:48:41+0000"): strptime costs
    # tens of microseconds a line, which dominates a filtered scan of a large file.
    if len(value) == 24 and value.endswith("+0000") and value[10] == "T":
        try:
            return datetime(int(value[0:4]), int(value[5:7]), int(value[8:10]), int(value[11:13]),
                            int(value[14:16]), int(value[17:19]), tzinfo=dt_timezone.utc)
        except ValueError:
            return None
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            parsed = parse(value)
        except (TypeError, ValueError):
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)
    return None


def _encode_cursor(offset: int, stat: os.stat_result) -> str:
    raw = json.dumps([offset, stat.st_dev, stat.st_ino], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, stat: os.stat_result) -> int:
    try:
        offset, dev, ino = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, dev, ino = int(offset), int(dev), int(ino)
    except (ValueError, TypeError, OverflowError):  # undecodable, not three numbers, an infinity
        raise LogError("invalid cursor") from None
    if (dev, ino) != (stat.st_dev, stat.st_ino):
        raise LogError("the log file was rotated since this page: start again from the newest lines")
    if not 0 <= offset <= stat.st_size:
        raise LogError("invalid cursor")
    return offset


def lines_backwards(handle: BinaryIO, end: int) -> Iterator[tuple[int, bytes]]:
    """(start offset, line) from `end` towards the start of the file, newest first."""
    pos = end
    tail = b""
    while pos > 0:
        size = min(BLOCK, pos)
        pos -= size
        handle.seek(pos)
        data = handle.read(size) + tail
        parts = data.split(b"\n")
        tail = parts[0]
        cursor = pos + len(data)
        for part in reversed(parts[1:]):
            start = cursor - len(part)
            if part:
                yield start, part
            cursor = start - 1
        if len(tail) > MAX_LINE:
            tail = b""
    if tail:
        yield 0, tail


def _time_at(handle: BinaryIO, offset: int, size: int) -> tuple[int, datetime | None]:
    """The start and time of the first whole line at or after `offset`."""
    # From the byte before: a line cut in the middle is skipped, one starting at `offset` is kept.
    handle.seek(max(offset - 1, 0))
    if offset:
        handle.readline()
    start = handle.tell()
    if start >= size:
        return size, None
    match = _TIME.search(handle.readline(MAX_LINE))
    return start, parse_time(match.group(1).decode()) if match else None


def _offset_after(handle: BinaryIO, size: int, until: datetime) -> int:
    """The start of the first line later than `until` (lines are in time order): a bisection, ~log2(size) reads."""
    lo, hi = 0, size
    for _ in range(64):
        if lo >= hi:
            break
        mid = (lo + hi) // 2
        start, when = _time_at(handle, mid, size)
        if start >= size or (when is not None and when > until):
            hi = mid
        else:
            lo = mid + 1
    start, _when = _time_at(handle, lo, size)
    return min(max(start, 0), size)


def _decode(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict):
        # A line that is not ours (a traceback printed by a library): shown as it is.
        return {"time": None, "level": "", "logger": "", "process": "", "message": line.decode("utf-8", "replace")}
    return record


def _matches(record: dict[str, Any], line: bytes, query: LogQuery, when: datetime | None) -> bool:
    if query.levels and str(record.get("level", "")).upper() not in query.levels:
        return False
    if query.logger and not str(record.get("logger", "")).startswith(query.logger):
        return False
    if query.process:
        process = f"{record.get('process', '')} {record.get('pid', '')}"
        if query.process not in process.split() and query.process != str(record.get("process", "")):
            return False
    if query.until and (when is None or when > query.until):
        return False
    if query.since and (when is None or when < query.since):
        return False
    return True


def _level_ok(line: bytes, levels: frozenset[str]) -> bool:
    """A cheap look at the raw line before decoding it; lines that are not ours are decoded and judged there."""
    if not levels:
        return True
    match = _LEVEL.search(line)
    return match is None or match.group(1).decode() in levels


def _text_ok(line: bytes, needle: bytes) -> bool:
    return not needle or needle in line.lower()


def read_page(*, source: str, query: LogQuery, cursor: str | None = None, limit: int = 100,
              scan_bytes: int | None = None) -> LogPage:
    path = source_path(source)
    scan_bytes = scan_bytes or settings.LOGS_SCAN_BYTES
    needle = query.text.lower().encode()
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        end = stat.st_size if not cursor else _decode_cursor(cursor, stat)
        if query.until and not cursor:
            end = _offset_after(handle, end, query.until)
        page = LogPage(source=source, file_size=stat.st_size)
        last_start = end
        for start, line in lines_backwards(handle, end):
            last_start = start
            if end - start > scan_bytes and len(page.lines) < limit:
                # Read enough for one request: the client asks again from here.
                page.next_cursor = _encode_cursor(min(start + len(line) + 1, stat.st_size), stat)
                break
            if not _text_ok(line, needle) or not _level_ok(line, query.levels):
                continue
            record = _decode(line)
            when = parse_time(str(record.get("time") or "")) if (query.since or query.until) else None
            if query.since and when is not None and when < query.since:
                break  # older lines only from here on
            if not _matches(record, line, query, when):
                continue
            record["offset"] = start
            page.lines.append(record)
            if len(page.lines) >= limit:
                if start > 0:
                    page.next_cursor = _encode_cursor(start, stat)
                break
        page.scanned_bytes = end - last_start
    return page


def iter_matching(*, source: str, query: LogQuery, max_lines: int = 1_000_000) -> Iterator[bytes]:
    """Every matching line, newest first, for a download (streamed: never held in memory)."""
    path = source_path(source)
    needle = query.text.lower().encode()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        sent = 0
        for _start, line in lines_backwards(handle, size):
            if not _text_ok(line, needle) or not _level_ok(line, query.levels):
                continue
            record = _decode(line)
            when = parse_time(str(record.get("time") or "")) if (query.since or query.until) else None
            if query.since and when is not None and when < query.since:
                return
            if _matches(record, line, query, when):
                yield line + b"\n"
                sent += 1
                if sent >= max_lines:
                    return


def level_counts_per_hour(*, source: str, window_bytes: int | None = None) -> dict[str, Any]:
    """Lines per level per hour over the newest `window_bytes` of the file (LOGS_CHART_BYTES)."""
    path = source_path(source)
    window = window_bytes or settings.LOGS_CHART_BYTES
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        scanned = 0
        for start, line in lines_backwards(handle, size):
            scanned = size - start
            if scanned > window:
                break
            time_match, level_match = _TIME.search(line), _LEVEL.search(line)
            if not time_match or not level_match:
                continue
            raw = time_match.group(1).decode()
            if raw.endswith("+0000") or raw.endswith("Z"):
                hour = raw[:13] + ":00Z"  # already UTC: no parsing
            else:
                when = parse_time(raw)
                if when is None:
                    continue
                hour = when.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:00Z")
            counts[hour][level_match.group(1).decode()] += 1
    hours = sorted(counts)
    return {
        "hours": hours,
        "levels": {level: [counts[h].get(level, 0) for h in hours] for level in LEVELS},
        "window_bytes": min(window, size),
        "file_size": size,
    }


def query_from_params(params: Any) -> LogQuery:
    """A LogQuery from GET parameters; bad values raise LogError (a 400, not a 500)."""
    levels = frozenset(v.upper() for v in params.getlist("level") if v)
    unknown = levels - set(LEVELS)
    if unknown:
        raise LogError(f"unknown level(s): {', '.join(sorted(unknown))}")

    def when(name: str) -> datetime | None:
        raw = (params.get(name) or "").strip()
        if not raw:
            return None
        parsed = parse_time(raw) if "T" in raw else parse_time(raw + "T00:00:00")
        if parsed is None:
            raise LogError(f"{name}: not a date and time (YYYY-MM-DDTHH:MM)")
        return parsed

    text = (params.get("q") or "")[:200]
    return LogQuery(levels=levels, text=text, since=when("since"), until=when("until"),
                    logger=(params.get("logger") or "")[:200], process=(params.get("process") or "")[:64])
