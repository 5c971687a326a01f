"""The one error of the run query language: what is wrong and at which character."""
from __future__ import annotations


class QueryError(ValueError):
    """A query that cannot be read or compiled. `position` is the 0-based offset of the
    offending character in `query`; `caret` shows it under the query."""

    def __init__(self, message: str, position: int, query: str = "") -> None:
        self.message = message
        self.position = max(0, min(position, len(query)))
        self.query = query
        super().__init__(self.describe())

    @property
    def caret(self) -> str:
        return f"{self.query}\n{' ' * self.position}^"

    def describe(self) -> str:
        return f"{self.message} (at character {self.position + 1})"

    def as_dict(self) -> dict[str, object]:
        """The API's 400 body: `detail` in one sentence, plus where."""
        return {"detail": self.describe(), "position": self.position + 1, "query": self.query, "caret": self.caret}
