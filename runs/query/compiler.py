"""From the parse tree to a Django filter (Q + the expressions it names) and ordering.

What each name means is decided here, once, for every surface: the run list page
and API (`filter=`, `ordering=`), the CSV export and the MLflow-compatible search.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.db.models import Exists, F, OrderBy, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from runs.models import Run, RunFavourite, RunOrigin, RunStatus, RunTrigger
from runs.query.errors import QueryError
from runs.query.expressions import JsonNumber, JsonText
from runs.query.parser import BoolOp, Comparison, Name, Node, Not, OrderItem, Value, parse_order_item, parse_query

# MLflow's statuses, read as Runsight's where a filter names them.
STATUS_ALIASES = {"FINISHED": RunStatus.SUCCEEDED, "KILLED": RunStatus.CANCELLED, "SCHEDULED": RunStatus.PENDING}
ORIGIN_ALIASES = {"IMPORTED": RunOrigin.IMPORT, "COMPUTED": RunOrigin.ENGINE}
ENTITIES = {
    "metrics": "metrics", "metric": "metrics",
    "params": "params", "param": "params", "parameter": "params", "parameters": "params",
    "tags": "tags", "tag": "tags",
    "attributes": "attributes", "attribute": "attributes", "attr": "attributes", "run": "attributes",
}
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Attribute:
    """A run column the language can name: its Django path and how its values are read."""

    path: str
    type: str  # text, choice, runid, uuid, date, number, bool
    choices: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    sortable: bool = True


_STATUS = Attribute("status", "choice", tuple(RunStatus.values), STATUS_ALIASES)
_CREATED = Attribute("created_at", "date")
_STARTED = Attribute("started_at", "date")
_FINISHED = Attribute("finished_at", "date")
_OWNER = Attribute("owner__username", "text")
_RUN_ID = Attribute("run_id", "runid")
ATTRIBUTES: dict[str, Attribute] = {
    "status": _STATUS,
    "kind": Attribute("kind", "text"),
    "trigger": Attribute("trigger", "choice", tuple(RunTrigger.values)),
    "origin": Attribute("origin", "choice", tuple(RunOrigin.values), ORIGIN_ALIASES),
    "run_id": _RUN_ID, "name": _RUN_ID, "run_name": _RUN_ID,
    "id": Attribute("pk", "uuid"), "run_uuid": Attribute("pk", "uuid"),
    "user": _OWNER, "owner": _OWNER, "user_id": _OWNER,
    "created": _CREATED, "created_at": _CREATED,
    "started": _STARTED, "started_at": _STARTED, "start_time": _STARTED,
    "finished": _FINISHED, "finished_at": _FINISHED, "end_time": _FINISHED,
    "duration": Attribute("duration_seconds", "number"),
    "progress": Attribute("progress", "number"),
    "seed": Attribute("seed", "number"),
    "notes": Attribute("notes", "text", sortable=False),
    "parent": Attribute("parent__run_id", "text"),
    "params_hash": Attribute("params_hash", "text"),
    "checksum": Attribute("checksum", "text"),
    "worker": Attribute("worker", "text"),
    "code_version": Attribute("code_version", "text"),
    "favourite": Attribute("is_my_favourite", "bool"),
    "starred": Attribute("is_my_favourite", "bool"),
    "imported": Attribute("origin", "bool"),
    "lifecycle_stage": Attribute("", "lifecycle", sortable=False),
}
# Columns that may be NULL (the others sort in their index's own order, cursor or not).
NULLABLE_PATHS = {"owner__username", "started_at", "finished_at", "duration_seconds", "seed", "parent__run_id"}
COMPARISONS = ("=", "!=", ">", ">=", "<", "<=")
LOOKUPS = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


@dataclass
class CompiledFilter:
    """What a filter compiles to: `queryset.alias(**annotations).filter(q)`."""

    q: Q
    annotations: dict[str, Any]

    def apply(self, queryset: Any) -> Any:
        if self.annotations:
            queryset = queryset.alias(**self.annotations)
        return queryset.filter(self.q)


@dataclass
class CompiledOrder:
    """What a sort compiles to: `queryset.alias(**annotations).order_by(*order_by)`."""

    order_by: list[Any]
    annotations: dict[str, Any]
    keys: list[str]  # the normalised sort keys, e.g. ["-metrics.rwa_total", "created"]

    def apply(self, queryset: Any) -> Any:
        if self.annotations:
            queryset = queryset.alias(**self.annotations)
        return queryset.order_by(*self.order_by)


def _alias(prefix: str, space: str, key: str) -> str:
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return f"{prefix}_{space}_{re.sub(r'[^a-z0-9]', '', key.lower())[:20]}_{digest}"


class _Compiler:
    def __init__(self, text: str, *, user: Any = None, now: datetime | None = None, prefix: str = "q") -> None:
        self.text = text
        self.prefix = prefix  # filters alias their expressions q…, sorts o…
        self.user = user
        self.now = now or timezone.now()
        self.annotations: dict[str, Any] = {}

    def error(self, message: str, pos: int) -> QueryError:
        return QueryError(message, pos, self.text)

    # -- nodes -----------------------------------------------------------------
    def node(self, node: Node) -> Q:
        if isinstance(node, BoolOp):
            out = Q()
            for i, term in enumerate(node.terms):
                compiled = self.node(term)
                out = compiled if i == 0 else (out & compiled if node.op == "AND" else out | compiled)
            return out
        if isinstance(node, Not):
            return ~self.node(node.term)
        return self.comparison(node)

    def comparison(self, cmp: Comparison) -> Q:
        entity, key = self.resolve(cmp.name)
        if entity == "metrics":
            q = self.metric(cmp, key)
        elif entity == "params":
            q = self.param(cmp, key)
        elif entity == "tags":
            q = self.tag(cmp, key)
        else:
            q = self.attribute(cmp, key)
        return ~q if cmp.negated and cmp.op != "ISNULL" else q

    def resolve(self, name: Name) -> tuple[str, str]:
        head = name.parts[0]
        entity = ENTITIES.get(head.lower()) if len(name.parts) > 1 else None
        if entity is None:
            if head.lower() in ("tag", "tags") and len(name.parts) == 1:
                return "tags", ""
            if len(name.parts) > 1:
                raise self.error(
                    f"Unknown name {name.text!r}: use metrics.<key>, params.<key>, tags.<key> or attributes.<name>.",
                    name.pos,
                )
            entity, key = "attributes", head
        else:
            key = ".".join(name.parts[1:])  # dotted keys: tags.mlflow.user
        if not key and entity != "tags":
            raise self.error(f"Name the {entity[:-1]} after {head!r}.", name.pos)
        if entity == "attributes" and key.lower() not in ATTRIBUTES:
            raise self.error(
                f"Unknown attribute {key!r}; known: {', '.join(sorted(set(ATTRIBUTES)))}.", name.pos
            )
        return entity, key.lower() if entity == "attributes" else key

    # -- metrics and params -----------------------------------------------------
    def json_alias(self, space: str, key: str, kind: str) -> str:
        alias = _alias(f"{self.prefix}{kind}", space, key)
        self.annotations[alias] = (JsonNumber if kind == "n" else JsonText)(space, key)
        return alias

    def metric(self, cmp: Comparison, key: str) -> Q:
        alias = self.json_alias("metrics", key, "n")
        if cmp.op == "ISNULL":
            return Q(**{f"{alias}__isnull": not cmp.negated})
        if cmp.op == "IN":
            return Q(**{f"{alias}__in": [self.number(v) for v in cmp.value]})
        if cmp.op not in COMPARISONS:
            raise self.error(f"Metrics compare with numbers: use {', '.join(COMPARISONS)} or IN.", cmp.pos)
        return self.compare(alias, cmp.op, self.number(cmp.value))

    def param(self, cmp: Comparison, key: str) -> Q:
        if cmp.op == "ISNULL":
            return Q(**{f"{self.json_alias('params', key, 't')}__isnull": not cmp.negated})
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        if cmp.op in COMPARISONS + ("IN",) and all(v.kind == "number" for v in values):
            alias = self.json_alias("params", key, "n")  # params.positions >= 100000: compared as numbers
            if cmp.op == "IN":
                return Q(**{f"{alias}__in": [self.number(v) for v in values]})
            return self.compare(alias, cmp.op, self.number(cmp.value))
        # Otherwise as text, as MLflow logs them: params.mix = "retail", params.positions = '100000'.
        return self.text_compare(self.json_alias("params", key, "t"), cmp)

    # -- tags --------------------------------------------------------------------
    def tag(self, cmp: Comparison, key: str) -> Q:
        """`tag = "nightly"`: the run holds that tag. `tags.<key> = "v"`: it holds the tag `key:v`."""
        through = Run.tags.through.objects.order_by()
        if cmp.op == "ISNULL":
            if key:
                held = through.filter(Q(tag__name=key) | Q(tag__name__startswith=f"{key}:"))
            else:
                held = through
            q = Q(pk__in=held.values("run_id"))
            return q if cmp.negated else ~q
        if cmp.op in (">", ">=", "<", "<="):
            raise self.error("Tags compare with =, !=, ^=, ~, IN, LIKE or ILIKE.", cmp.pos)
        prefix = f"{key}:" if key else ""
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        shifted = tuple(Value(v.kind if v.kind != "number" else "string", prefix + v.text, v.pos) for v in values)
        inner = Comparison(Name(("name",), cmp.name.pos), cmp.op if cmp.op != "!=" else "=",
                           shifted if cmp.op == "IN" else shifted[0], False, cmp.pos)
        matching = through.filter(self.text_compare("tag__name", inner))
        q = Q(pk__in=matching.values("run_id"))
        return ~q if cmp.op == "!=" else q

    # -- attributes ---------------------------------------------------------------
    def attribute(self, cmp: Comparison, key: str) -> Q:
        attr = ATTRIBUTES[key]
        if attr.type == "lifecycle":  # MLflow: every run here is active; deleted runs are gone
            stage = self.text_value(cmp.value) if isinstance(cmp.value, Value) else ""
            return Q() if stage.lower() == "active" and cmp.op == "=" else Q(pk__in=[])
        if cmp.op == "ISNULL":
            if attr.type == "bool":
                raise self.error(f"{key} is true or false, never missing.", cmp.pos)
            return Q(**{f"{attr.path}__isnull": not cmp.negated})
        if attr.type == "choice":
            return self.choice(attr, cmp, key)
        if attr.type == "bool":
            return self.boolean(attr, cmp, key)
        if attr.type == "date":
            return self.date(attr, cmp)
        if attr.type == "number":
            if cmp.op == "IN":
                return Q(**{f"{attr.path}__in": [self.number(v) for v in cmp.value]})
            if cmp.op not in COMPARISONS:
                raise self.error(f"{key} compares with numbers: use {', '.join(COMPARISONS)} or IN.", cmp.pos)
            return self.compare(attr.path, cmp.op, self.number(cmp.value))
        if attr.type == "uuid":
            return self.uuid(attr, cmp)
        q = self.text_compare(attr.path, cmp)
        if attr.type == "runid" and cmp.op in ("=", "IN"):
            # MLflow's run_id is the run's UUID (32 hex digits): accept it where a run id goes.
            values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
            uuids = [u for u in (_as_uuid(self.text_value(v)) for v in values) if u]
            if uuids:
                q |= Q(pk__in=uuids)
        return q

    def choice(self, attr: Attribute, cmp: Comparison, key: str) -> Q:
        if cmp.op not in ("=", "!=", "IN"):
            raise self.error(f"{key} compares with =, != or IN.", cmp.pos)
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        chosen = []
        for v in values:
            word = self.text_value(v).upper()
            word = attr.aliases.get(word, word)
            if word not in attr.choices:
                raise self.error(f"Unknown {key} {v.text!r}; one of {', '.join(attr.choices)}.", v.pos)
            chosen.append(word)
        q = Q(**{f"{attr.path}__in": chosen})
        return ~q if cmp.op == "!=" else q

    def boolean(self, attr: Attribute, cmp: Comparison, key: str) -> Q:
        if cmp.op not in ("=", "!="):
            raise self.error(f"{key} compares with = true or = false.", cmp.pos)
        word = self.text_value(cmp.value).lower()
        if word not in ("true", "false", "yes", "no", "1", "0"):
            raise self.error(f"{key} is true or false.", cmp.value.pos)
        wanted = (word in ("true", "yes", "1")) == (cmp.op == "=")
        if key == "imported":
            q = Q(origin=RunOrigin.IMPORT)
        else:
            mine = RunFavourite.objects.filter(run=OuterRef("pk"), user_id=getattr(self.user, "pk", None))
            q = Q(Exists(mine))
        return q if wanted else ~q

    def date(self, attr: Attribute, cmp: Comparison) -> Q:
        if cmp.op == "IN" or cmp.op not in COMPARISONS:
            raise self.error("Dates compare with =, !=, >, >=, < or <=.", cmp.pos)
        value: Value = cmp.value
        start, end = self.moment(value)
        if cmp.op in ("=", "!="):
            q = Q(**{f"{attr.path}__gte": start, f"{attr.path}__lt": end}) if end else Q(**{attr.path: start})
            return ~q if cmp.op == "!=" else q
        if end and cmp.op in (">", "<="):
            start = end  # after a whole day means from the next one
        return Q(**{f"{attr.path}__{LOOKUPS[cmp.op]}": start})

    def moment(self, value: Value) -> tuple[datetime, datetime | None]:
        """A date value: (moment, None), or (start, end) of a whole day written without a time."""
        if value.kind == "duration":
            if value.text[0] not in "+-":
                raise self.error(f"Write -{value.text} for {value.text} ago (or +{value.text} ahead).", value.pos)
            amount, unit = float(value.text[:-1]), value.text[-1]
            try:
                return self.now + timedelta(**{DURATION_UNITS[unit]: amount}), None
            except OverflowError:
                raise self.error("That duration is too long.", value.pos) from None
        if value.kind == "number":  # MLflow: start_time > 1700000000000 (milliseconds since 1970)
            try:
                return datetime.fromtimestamp(float(value.text) / 1000, tz=dt_timezone.utc), None
            except (OverflowError, ValueError, OSError):
                raise self.error("That timestamp is out of range.", value.pos) from None
        text = value.text.strip()
        if value.kind in ("date", "string", "word"):
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                try:
                    day = date.fromisoformat(text)
                except ValueError:
                    raise self.error(f"{text!r} is not a date.", value.pos) from None
                start = datetime(day.year, day.month, day.day, tzinfo=dt_timezone.utc)
                try:
                    return start, start + timedelta(days=1)
                except OverflowError:
                    return start, None
            try:
                moment = parse_datetime(text)
            except ValueError:
                moment = None
            if moment is not None:
                if timezone.is_naive(moment):
                    moment = moment.replace(tzinfo=dt_timezone.utc)
                try:
                    return moment.astimezone(dt_timezone.utc), None
                except (OverflowError, ValueError):
                    pass
        raise self.error("Expected a date (2026-11-30, '2026-11-30T08:00Z'), -7d or milliseconds since 1970.", value.pos)

    def uuid(self, attr: Attribute, cmp: Comparison) -> Q:
        if cmp.op not in ("=", "!=", "IN"):
            raise self.error("id compares with =, != or IN.", cmp.pos)
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        ids = []
        for v in values:
            parsed = _as_uuid(self.text_value(v))
            if parsed is None:
                raise self.error(f"{v.text!r} is not a run UUID.", v.pos)
            ids.append(parsed)
        q = Q(pk__in=ids)
        return ~q if cmp.op == "!=" else q

    # -- shared comparisons ---------------------------------------------------------
    def compare(self, path: str, op: str, value: Any) -> Q:
        if op == "!=":
            return Q(**{f"{path}__isnull": False}) & ~Q(**{path: value})
        return Q(**{f"{path}__{LOOKUPS[op]}": value})

    def text_compare(self, path: str, cmp: Comparison) -> Q:
        if cmp.op == "IN":
            return Q(**{f"{path}__in": [self.text_value(v) for v in cmp.value]})
        value = self.text_value(cmp.value)
        if cmp.op == "^=":
            return Q(**{f"{path}__startswith": value})
        if cmp.op == "~":
            return Q(**{f"{path}__icontains": value})
        if cmp.op in ("LIKE", "ILIKE"):
            return _like(path, value, case_sensitive=cmp.op == "LIKE")
        if cmp.op == "!=":
            return Q(**{f"{path}__isnull": False}) & ~Q(**{path: value})
        return Q(**{f"{path}__{LOOKUPS[cmp.op]}": value})

    def number(self, value: Value) -> float | int:
        if value.kind != "number":
            raise self.error(f"Expected a number, found {value.text!r}.", value.pos)
        try:
            number = float(value.text)
        except ValueError:
            raise self.error(f"{value.text!r} is not a number.", value.pos) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise self.error(f"{value.text!r} is out of range.", value.pos)
        return int(number) if number.is_integer() and abs(number) < 2**63 else number

    @staticmethod
    def text_value(value: Value) -> str:
        return value.text

    # -- ordering --------------------------------------------------------------------
    def order_item(self, item: OrderItem, source: str, *, nulls_last: bool = False) -> tuple[list[Any], str]:
        entity, key = self.resolve(item.name)
        sign = "-" if item.descending else ""

        def direction(expression: Any) -> OrderBy:
            # Runs without the value come last either way (as in MLflow).
            return expression.desc(nulls_last=True) if item.descending else expression.asc(nulls_last=True)

        def column(expression: Any, nullable: bool) -> OrderBy:
            # A column sorts as the database does by default (its index serves that order),
            # unless a cursor needs one rule for missing values, which only nullable columns have.
            if nulls_last and nullable:
                return direction(expression)
            return expression.desc() if item.descending else expression.asc()

        if entity == "metrics":
            return [direction(F(self.json_alias("metrics", key, "n")))], f"{sign}metrics.{_quote_key(key)}"
        if entity == "params":
            # Numbers in numeric order, then text values: positions 50000 before 100000.
            number, text = self.json_alias("params", key, "n"), self.json_alias("params", key, "t")
            return [direction(F(number)), direction(F(text))], f"{sign}params.{_quote_key(key)}"
        if entity == "tags":
            raise self.error("Runs cannot be sorted by tags.", item.name.pos)
        attr = ATTRIBUTES[key]
        if not attr.sortable or attr.type in ("uuid",):
            raise self.error(f"Runs cannot be sorted by {key}.", item.name.pos)
        return [column(F(attr.path), attr.path in NULLABLE_PATHS)], f"{sign}{key}"


def _quote_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else "`" + key.replace("`", "``") + "`"


def _as_uuid(text: str) -> str | None:
    import uuid

    cleaned = text.strip()
    if not re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F-]{36}", cleaned):
        return None
    try:
        return str(uuid.UUID(cleaned))
    except ValueError:
        return None


def _like(path: str, pattern: str, *, case_sensitive: bool) -> Q:
    """SQL LIKE as MLflow has it (% any run of characters, _ one character, \\ escapes),
    turned into index-friendly lookups where the pattern allows."""
    parts: list[tuple[str, str]] = []  # ("lit", text) or ("any"/"one", "")
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            parts.append(("lit", pattern[i + 1]))
            i += 2
            continue
        parts.append(("any", "") if c == "%" else ("one", "") if c == "_" else ("lit", c))
        i += 1
    wild = [k for k, _ in parts if k != "lit"]
    literal = "".join(t for k, t in parts if k == "lit")
    ci = "" if case_sensitive else "i"
    kinds = [k for k, _ in parts]
    if not wild:
        return Q(**{f"{path}__{ci}exact" if ci else path: literal})
    if "one" not in kinds:
        inner = [k for k in kinds if k != "any"]
        # Only leading and/or trailing %: starts with, ends with or contains.
        first_lit = kinds.index("lit") if "lit" in kinds else len(kinds)
        last_lit = len(kinds) - 1 - kinds[::-1].index("lit") if "lit" in kinds else -1
        if inner and all(k == "lit" for k in kinds[first_lit:last_lit + 1]):
            lead, trail = first_lit > 0, last_lit < len(kinds) - 1
            lookup = "contains" if lead and trail else "endswith" if lead else "startswith"
            return Q(**{f"{path}__{ci}{lookup}": literal})
        if not inner:
            return Q(**{f"{path}__isnull": False})
    regex = "^" + "".join(re.escape(t) if k == "lit" else ".*" if k == "any" else "." for k, t in parts) + "$"
    return Q(**{f"{path}__{ci}regex": regex})


# ---------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------
def compile_filter(text: str | None, *, user: Any = None, now: datetime | None = None) -> CompiledFilter:
    """Compile a filter string to `CompiledFilter(q, annotations)`; QueryError when it is invalid.

    `user` is who asks (for `favourite = true`); `now` anchors relative dates."""
    compiler = _Compiler(text or "", user=user, now=now)
    tree = parse_query(text or "")
    q = Q() if tree is None else compiler.node(tree)
    return CompiledFilter(q, compiler.annotations)


def compile_order(items: list[str] | tuple[str, ...], *, tiebreak: bool = True, nulls_last: bool = False) -> CompiledOrder:
    """Compile sort keys (`metrics.rwa_total DESC`, `-created`, `params.mix`) to an ordering.

    With `tiebreak`, newest first then the primary key follow, so pages never shuffle
    runs with equal keys."""
    order_by: list[Any] = []
    keys: list[str] = []
    annotations: dict[str, Any] = {}
    for item_text in items:
        if not item_text.strip():
            continue
        compiler = _Compiler(item_text, prefix="o")
        expressions, key = compiler.order_item(parse_order_item(item_text), item_text, nulls_last=nulls_last)
        order_by.extend(expressions)
        keys.append(key)
        annotations.update(compiler.annotations)
    if tiebreak:
        named = {k.lstrip("-") for k in keys}
        if not named & {"created", "created_at"}:
            order_by.append(F("created_at").desc())
        order_by.append(F("pk").desc())
    return CompiledOrder(order_by, annotations, keys)
