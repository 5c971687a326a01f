"""MLflow's filter strings and order_by clauses, read into run queries.

    metrics.lcr > 1.5 AND params.mix = 'retail' AND tags.`mlflow.user` = 'ana'
    attributes.status = 'FINISHED' AND attributes.run_name LIKE 'base%'

MLflow's grammar is a list of comparisons joined by AND; identifiers may be quoted with
backticks or double quotes; strings with single or double quotes; IN takes a list.
What a clause means (which run field, which comparison) is decided once, in
`clause_q` and `order_expressions`; a clause that MLflow would refuse is refused here
with the offending position.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from typing import Any

from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IRegex,
    LessThan,
    LessThanOrEqual,
    Regex,
)

from runs.models import RunStatus

# MLflow's run statuses and Runsight's.
STATUS_TO_MLFLOW = {
    RunStatus.PENDING: "SCHEDULED",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.SUCCEEDED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELLED: "KILLED",
}
STATUS_FROM_MLFLOW = {v: k for k, v in STATUS_TO_MLFLOW.items()}

NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
ENTITY_ALIASES = {
    "metric": "metrics", "metrics": "metrics",
    "param": "params", "params": "params", "parameter": "params", "parameters": "params",
    "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}
ATTRIBUTES = ("run_id", "run_uuid", "run_name", "status", "user_id", "start_time", "end_time", "created",
              "artifact_uri", "lifecycle_stage")
ORDERABLE_ATTRIBUTES = ("run_id", "run_name", "status", "user_id", "start_time", "end_time", "created")


class SearchSyntaxError(ValueError):
    """A filter or order_by MLflow would refuse; the message names the position."""


@dataclass(frozen=True)
class Clause:
    entity: str  # metrics, params, tags, attributes
    key: str
    op: str
    value: Any


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))(?![\w.])
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<bq>`[^`]*`)
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<dot>\.)
      | (?P<word>[A-Za-z_][A-Za-z0-9_:\-]*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SearchSyntaxError(f"Unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}.")
        kind = match.lastgroup or ""
        start = match.start(kind)
        out.append((kind, match.group(kind), start))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_filter(text: str | None) -> list[Clause]:
    """The clauses of an MLflow filter string (empty: no clause)."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def at(index: int) -> tuple[str, str, int]:
        return tokens[index] if index < len(tokens) else ("end", "", len(text))

    def fail(index: int, what: str) -> SearchSyntaxError:
        kind, value, pos = at(index)
        found = "the end of the filter" if kind == "end" else repr(value)
        return SearchSyntaxError(f"Invalid filter at position {pos + 1}: expected {what}, found {found}.")

    while True:
        # identifier: [entity .] key, where key may be quoted
        kind, value, pos = at(i)
        if kind == "word" and at(i + 1)[0] == "dot":
            entity = ENTITY_ALIASES.get(value.lower())
            if entity is None:
                raise SearchSyntaxError(
                    f"Invalid filter at position {pos + 1}: {value!r} is not metrics, params, tags or attributes."
                )
            i += 2
            kind, value, pos = at(i)
            if kind in ("str", "bq"):
                key = _unquote(value)
            elif kind == "word":
                key = value
                # Dotted keys such as tags.mlflow.user: take the dots as part of the key.
                while at(i + 1)[0] == "dot" and at(i + 2)[0] == "word":
                    key += "." + at(i + 2)[1]
                    i += 2
            else:
                raise fail(i, "a key")
        elif kind == "word" and value.lower() in ATTRIBUTES:
            entity, key = "attributes", value.lower()
        elif kind == "bq":
            entity, key = "attributes", _unquote(value)
        else:
            raise fail(i, "metrics.<key>, params.<key>, tags.<key> or an attribute")
        i += 1
        # comparator
        kind, value, pos = at(i)
        if kind == "op":
            op = value
            i += 1
        elif kind == "word" and value.upper() in ("LIKE", "ILIKE", "IN"):
            op = value.upper()
            i += 1
        elif kind == "word" and value.upper() == "NOT" and at(i + 1)[0] == "word" and at(i + 1)[1].upper() == "IN":
            op = "NOT IN"
            i += 2
        else:
            raise fail(i, "a comparison (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN)")
        # value
        kind, value, pos = at(i)
        if op in ("IN", "NOT IN"):
            if kind != "lp":
                raise fail(i, "'(' after IN")
            i += 1
            items: list[Any] = []
            while True:
                kind, value, pos = at(i)
                if kind == "str":
                    items.append(_unquote(value))
                elif kind == "num":
                    items.append(value)
                else:
                    raise fail(i, "a quoted value")
                i += 1
                if at(i)[0] == "comma":
                    i += 1
                    continue
                if at(i)[0] == "rp":
                    i += 1
                    break
                raise fail(i, "',' or ')'")
            parsed: Any = items
        elif kind == "num":
            parsed = float(value)
            i += 1
        elif kind == "str":
            parsed = _unquote(value)
            i += 1
        else:
            raise fail(i, "a number or a quoted string")
        clauses.append(_checked(Clause(entity, key, op, parsed), pos))
        # AND or the end
        kind, value, pos = at(i)
        if kind == "end":
            return clauses
        if kind == "word" and value.upper() == "AND":
            i += 1
            continue
        if kind == "word" and value.upper() == "OR":
            raise SearchSyntaxError(f"Invalid filter at position {pos + 1}: MLflow filters join comparisons with AND only.")
        raise fail(i, "AND or the end of the filter")


def _checked(clause: Clause, pos: int) -> Clause:
    where = f"at position {pos + 1}"
    if clause.entity == "metrics":
        if clause.op not in NUMERIC_OPS or not isinstance(clause.value, float):
            raise SearchSyntaxError(f"Invalid filter {where}: a metric is compared to a number with {', '.join(NUMERIC_OPS)}.")
    elif clause.entity in ("params", "tags"):
        if clause.op not in STRING_OPS or isinstance(clause.value, float):
            raise SearchSyntaxError(
                f"Invalid filter {where}: {clause.entity} are compared to a quoted string with {', '.join(STRING_OPS)}."
            )
    else:
        if clause.key not in ATTRIBUTES:
            raise SearchSyntaxError(f"Invalid filter {where}: unknown attribute {clause.key!r} (known: {', '.join(ATTRIBUTES)}).")
        if clause.key in ("start_time", "end_time", "created"):
            if clause.op not in NUMERIC_OPS or not isinstance(clause.value, float):
                raise SearchSyntaxError(f"Invalid filter {where}: {clause.key} is compared to milliseconds since the epoch.")
        elif clause.op not in STRING_OPS or isinstance(clause.value, float):
            raise SearchSyntaxError(f"Invalid filter {where}: {clause.key} is compared to a quoted string.")
        if clause.key == "status":
            values = clause.value if isinstance(clause.value, list) else [clause.value]
            unknown = [v for v in values if v not in STATUS_FROM_MLFLOW]
            if unknown and clause.op not in ("LIKE", "ILIKE"):
                raise SearchSyntaxError(
                    f"Invalid filter {where}: status {unknown[0]!r} is not one of {', '.join(STATUS_FROM_MLFLOW)}."
                )
    return clause


# --- Clauses into queries ------------------------------------------------------
def _like_regex(pattern: str) -> str:
    """SQL LIKE's % and _ as MLflow gives them, as a regular expression (the same on every database)."""
    return "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + "$"


def _string_q(field: str, op: str, value: Any) -> Q:
    if op == "=":
        return Q(**{field: value})
    if op == "!=":
        return ~Q(**{field: value}) & Q(**{f"{field}__isnull": False})
    if op == "LIKE":
        return Q(**{f"{field}__regex": _like_regex(value)})
    if op == "ILIKE":
        return Q(**{f"{field}__iregex": _like_regex(value)})
    if op == "IN":
        return Q(**{f"{field}__in": list(value)})
    return ~Q(**{f"{field}__in": list(value)}) & Q(**{f"{field}__isnull": False})


def _millis(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=dt_timezone.utc)


def clause_q(clause: Clause) -> Q:
    """The rows a clause keeps, as a Q on runs.Run."""
    if clause.entity == "metrics":
        return _metric_q(clause.key, clause.op, clause.value)
    if clause.entity == "params":
        # Parameters compare as text, as MLflow logs them: params.positions = '100000'.
        return _json_text_q("params", clause.key, clause.op, clause.value)
    if clause.entity == "tags":
        if clause.key == "mlflow.runName":
            return _string_q("tracked__run_name", clause.op, clause.value)
        return _json_text_q("tracked__tags", clause.key, clause.op, clause.value)
    key = clause.key
    if key in ("run_id", "run_uuid"):
        return _run_id_q(clause.op, clause.value)
    if key == "run_name":
        return _string_q("tracked__run_name", clause.op, clause.value)
    if key == "status":
        value = clause.value
        if clause.op in ("LIKE", "ILIKE"):
            names = [s for s, m in STATUS_TO_MLFLOW.items()
                     if re.fullmatch(value.replace("%", ".*").replace("_", "."), m,
                                     re.IGNORECASE if clause.op == "ILIKE" else 0)]
            return Q(status__in=names)
        mapped = [STATUS_FROM_MLFLOW[v] for v in value] if isinstance(value, list) else STATUS_FROM_MLFLOW[value]
        return _string_q("status", clause.op, mapped)
    if key == "user_id":
        return _string_q("owner__username", clause.op, clause.value)
    if key in ("artifact_uri",):
        return Q() if clause.op in ("LIKE", "ILIKE") and clause.value.strip("%") == "" else Q(pk__in=[])
    if key == "lifecycle_stage":
        return Q() if clause.op in ("=", "IN") and "active" in (clause.value if isinstance(clause.value, list) else [clause.value]) else Q(pk__in=[])
    field = {"start_time": "started_at", "end_time": "finished_at", "created": "created_at"}[key]
    moment = _millis(clause.value)
    lookup = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}.get(clause.op)
    if lookup is None:
        return ~Q(**{field: moment})
    return Q(**{f"{field}__{lookup}": moment})


def _run_id_q(op: str, value: Any) -> Q:
    from tracking.selectors import run_pk_from_mlflow_id

    values = value if isinstance(value, list) else [value]
    pks = [pk for pk in (run_pk_from_mlflow_id(v) for v in values) if pk is not None]
    if op in ("=", "IN"):
        return Q(pk__in=pks)
    if op in ("!=", "NOT IN"):
        return ~Q(pk__in=pks)
    raise SearchSyntaxError("run_id is compared with =, !=, IN or NOT IN.")


_LOOKUPS = {"=": Exact, ">": GreaterThan, ">=": GreaterThanOrEqual, "<": LessThan, "<=": LessThanOrEqual}


def _metric_q(key: str, op: str, value: float) -> Q:
    """A comparison of the run's latest value of a metric. Runs without it never match."""
    number = KeyTransform(key, "metrics")
    if op == "!=":
        return ~Q(Exact(number, value)) & Q(metrics__has_key=key)
    return Q(_LOOKUPS[op](number, value)) & Q(metrics__has_key=key)


def _json_text_q(field: str, key: str, op: str, value: Any) -> Q:
    """A comparison of one key of a JSON object as text; runs without the key never match."""
    # As text on every database (SQLite's JSON_EXTRACT answers a number for 3000, PostgreSQL's ->> text).
    text = Cast(KeyTextTransform(key, field), TextField())
    present = Q(**{f"{field}__has_key": key})
    if op == "=":
        return Q(Exact(text, value)) & present
    if op == "!=":
        return ~Q(Exact(text, value)) & present
    if op in ("IN", "NOT IN"):
        q = Q(In(text, list(value)))
        return (q if op == "IN" else ~q) & present
    lookup = IRegex if op == "ILIKE" else Regex
    return Q(lookup(text, _like_regex(value))) & present


def filter_q(text: str | None) -> Q:
    q = Q()
    for clause in parse_filter(text):
        q &= clause_q(clause)
    return q


# --- order_by ------------------------------------------------------------------
_ORDER = re.compile(r"^\s*(?P<key>.+?)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.IGNORECASE)


def order_expressions(order_by: list[str] | None) -> list[Any]:
    """Sort expressions of MLflow's order_by clauses, then newest first (Runsight's own list
    order), then the run's UUID: the same rows always come in the same order."""
    out: list[Any] = []
    for index, text in enumerate(order_by or []):
        match = _ORDER.match(text or "")
        if not match:
            raise SearchSyntaxError(f"Invalid order_by clause {index + 1}: {text!r}.")
        descending = (match["dir"] or "ASC").upper() == "DESC"
        tokens = _tokens(match["key"])
        if len(tokens) >= 3 and tokens[0][0] == "word" and tokens[1][0] == "dot":
            entity = ENTITY_ALIASES.get(tokens[0][1].lower())
            rest = tokens[2:]
            key = _unquote(rest[0][1]) if rest[0][0] in ("str", "bq") else "".join(t[1] for t in rest)
        elif len(tokens) == 1:
            entity, key = "attributes", _unquote(tokens[0][1]) if tokens[0][0] in ("str", "bq") else tokens[0][1]
        else:
            entity, key = None, ""
        if entity is None:
            raise SearchSyntaxError(f"Invalid order_by clause {index + 1}: {text!r} is not metrics.<key>, params.<key>, "
                                    "tags.<key> or an attribute.")
        if entity == "metrics":
            expression: Any = KeyTransform(key, "metrics")
        elif entity == "params":
            expression = KeyTextTransform(key, "params")
        elif entity == "tags":
            expression = F("tracked__run_name") if key == "mlflow.runName" else KeyTextTransform(key, "tracked__tags")
        else:
            if key not in ORDERABLE_ATTRIBUTES:
                raise SearchSyntaxError(
                    f"Invalid order_by clause {index + 1}: {key!r} cannot be sorted on "
                    f"(sortable: {', '.join(ORDERABLE_ATTRIBUTES)})."
                )
            expression = F({"run_id": "pk", "run_name": "tracked__run_name", "status": "status",
                            "user_id": "owner__username", "start_time": "started_at", "end_time": "finished_at",
                            "created": "created_at"}[key])
        # Runs without the value come last either way, as in MLflow.
        out.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
    out += [F("created_at").desc(), F("pk").desc()]
    return out
