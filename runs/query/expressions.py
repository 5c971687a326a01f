"""Values inside a run's `metrics` and `params` JSON, as SQL expressions.

One spelling per database, chosen so that PostgreSQL's expression indexes
(migration runs/0010) match the queries exactly:

- `JsonNumber`: the value when it is a JSON number, else NULL (a string, a table,
  a missing key). PostgreSQL: `runsight_num(doc -> 'key')`, an immutable SQL
  function the indexes are built on. SQLite: JSON1's `json_type`/`json_extract`.
- `JsonText`: the value as text (a string as is, a number in its JSON spelling,
  true/false), NULL when missing or a table.
"""
from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import F, FloatField, Func, TextField


def sqlite_json_path(key: str) -> str:
    """JSON1's path to a top-level key, quoted so dots and spaces stay inside the key."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _JsonKey(Func):
    """Base: a top-level key of a JSON column."""

    def __init__(self, field: str, key: str, **extra: Any) -> None:
        super().__init__(F(field), **extra)
        self.key = key

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        raise NotSupportedError(f"Run queries on metrics and params need PostgreSQL or SQLite, not {connection.vendor}.")

    def _column(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return sql, list(params)


class JsonNumber(_JsonKey):
    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler, connection)
        return f"runsight_num(({sql} -> %s))", [*params, self.key]

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler, connection)
        path = sqlite_json_path(self.key)
        return (
            f"(CASE WHEN json_type({sql}, %s) IN ('integer', 'real') THEN json_extract({sql}, %s) END)",
            [*params, path, *params, path],
        )


class JsonText(_JsonKey):
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler, connection)
        return (
            f"(CASE WHEN jsonb_typeof(({sql} -> %s)) IN ('string', 'number', 'boolean') THEN ({sql} ->> %s) END)",
            [*params, self.key, *params, self.key],
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler, connection)
        path = sqlite_json_path(self.key)
        return (
            f"(CASE json_type({sql}, %s) WHEN 'text' THEN json_extract({sql}, %s)"
            f" WHEN 'integer' THEN CAST(json_extract({sql}, %s) AS TEXT)"
            f" WHEN 'real' THEN CAST(json_extract({sql}, %s) AS TEXT)"
            " WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END)",
            [*params, path, *params, path, *params, path, *params, path],
        )
