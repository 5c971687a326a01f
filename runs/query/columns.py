"""Metric and parameter columns a run list shows or returns: `metrics.lcr`, `params.mix`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from runs.query.errors import QueryError
from runs.query.parser import _Parser
from runs.query.tokens import tokenize

MAX_COLUMNS = 20
SPACES = {"metrics": "metrics", "metric": "metrics", "params": "params", "param": "params"}


@dataclass(frozen=True)
class Column:
    space: str  # metrics or params
    key: str

    @property
    def name(self) -> str:
        return f"{self.space}.{self.key}"

    def value(self, run: Any) -> Any:
        """The run's value for this column (None when missing); the run (a Run, or a row of
        runs.selectors.listing.run_list_values) must carry its JSON."""
        document = run.get(self.space) if isinstance(run, dict) else getattr(run, self.space, None)
        return document.get(self.key) if isinstance(document, dict) else None


def split_list(text: str) -> list[str]:
    """Split on commas outside quotes and backticks: `metrics.\\`a,b\\`` stays whole."""
    items, current, quote = [], [], ""
    for c in text:
        if quote:
            current.append(c)
            if c == quote:
                quote = ""
        elif c in "`'\"":
            quote = c
            current.append(c)
        elif c == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(c)
    items.append("".join(current))
    return [i.strip() for i in items if i.strip()]


def parse_columns(items: Iterable[str], *, default_space: str | None = None) -> list[Column]:
    """Columns from `metrics.lcr`-style names (or bare keys, with `default_space`);
    QueryError naming the first bad one."""
    columns: list[Column] = []
    for item in items:
        tokens = tokenize(item)
        parser = _Parser(item, tokens)
        name = parser.name()
        if parser.tok.kind != "end":
            raise QueryError("Expected one column name such as metrics.lcr.", parser.tok.pos, item)
        space = SPACES.get(name.parts[0].lower()) if len(name.parts) > 1 else None
        if space is None:
            if default_space is None:
                raise QueryError(f"{name.text!r} is not metrics.<key> or params.<key>.", name.pos, item)
            space, key = default_space, name.text
        else:
            key = ".".join(name.parts[1:])
        column = Column(space, key)
        if column not in columns:
            columns.append(column)
    if len(columns) > MAX_COLUMNS:
        raise QueryError(f"At most {MAX_COLUMNS} metric and parameter columns.", 0, ",".join(items))
    return columns
