"""Recursive-descent parser of the run query language.

    query      := or_expr END
    or_expr    := and_expr ( OR and_expr )*
    and_expr   := not_expr ( AND not_expr )*
    not_expr   := NOT not_expr | primary
    primary    := "(" or_expr ")" | comparison
    comparison := name op value
                | name [NOT] IN "(" value ( "," value )* ")"
                | name [NOT] LIKE string | name [NOT] ILIKE string
                | name IS [NOT] NULL
    name       := part ( "." part )*         part: a word or a `backticked name`
    op         := = | != | <> | > | >= | < | <= | ^= (starts with) | ~ (contains)
    value      := string | number | date | duration (-7d) | word | TRUE | FALSE

    order      := item ( "," item )*      item := ["-"]name [ASC | DESC]

The parser only builds a tree; what a name means is decided in runs.query.compiler.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from runs.query.errors import QueryError
from runs.query.tokens import Token, tokenize

MAX_DEPTH = 50
MAX_TERMS = 200


@dataclass(frozen=True)
class Name:
    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Value:
    kind: str  # string, number, date, duration, word, bool, null
    text: str
    pos: int


@dataclass(frozen=True)
class Comparison:
    name: Name
    op: str  # =, !=, >, >=, <, <=, ^=, ~, IN, LIKE, ILIKE, ISNULL
    value: Value | tuple[Value, ...] | None
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR
    terms: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    term: "Node"


Node = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    name: Name
    descending: bool


@dataclass
class _Parser:
    text: str
    tokens: list[Token]
    i: int = 0
    depth: int = 0
    terms: int = field(default=0)

    # -- token helpers -------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.text in words

    def fail(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.tok
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        return QueryError(f"{message}, found {found}.", token.pos, self.text)

    # -- grammar -------------------------------------------------------------
    def query(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "end":
            if self.tok.kind == "rparen":
                raise self.fail("This ')' closes nothing")
            raise self.fail("Expected AND, OR or the end of the query")
        return node

    def or_expr(self) -> Node:
        terms = [self.and_expr()]
        while self.at_keyword("OR"):
            self.take()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else BoolOp("OR", tuple(terms))

    def and_expr(self) -> Node:
        terms = [self.not_expr()]
        while self.at_keyword("AND"):
            self.take()
            terms.append(self.not_expr())
        return terms[0] if len(terms) == 1 else BoolOp("AND", tuple(terms))

    def not_expr(self) -> Node:
        if self.at_keyword("NOT"):
            self.take()
            return Not(self._nested(self.not_expr))
        return self.primary()

    def primary(self) -> Node:
        if self.tok.kind == "lparen":
            opening = self.take()
            node = self._nested(self.or_expr)
            if self.tok.kind != "rparen":
                raise QueryError(
                    f"This '(' is never closed (expected ')' at character {self.tok.pos + 1}).", opening.pos, self.text
                )
            self.take()
            return node
        return self.comparison()

    def _nested(self, parse):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"More than {MAX_DEPTH} nested levels")
        try:
            return parse()
        finally:
            self.depth -= 1

    def comparison(self) -> Comparison:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"More than {MAX_TERMS} comparisons in one query")
        name = self.name()
        token = self.tok
        negated = False
        if self.at_keyword("NOT"):
            self.take()
            negated = True
            if not self.at_keyword("IN", "LIKE", "ILIKE"):
                raise self.fail("Expected IN, LIKE or ILIKE after NOT")
        if self.at_keyword("IN"):
            self.take()
            return Comparison(name, "IN", self.value_list(), negated, token.pos)
        if self.at_keyword("LIKE", "ILIKE"):
            op = self.take().text
            pattern = self.value()
            if pattern.kind != "string":
                raise QueryError(f"{op} takes a quoted pattern, e.g. '%stress%'.", pattern.pos, self.text)
            return Comparison(name, op, pattern, negated, token.pos)
        if self.at_keyword("IS"):
            self.take()
            if self.at_keyword("NOT"):
                self.take()
                negated = True
            if not self.at_keyword("NULL"):
                raise self.fail("Expected NULL after IS")
            self.take()
            return Comparison(name, "ISNULL", None, negated, token.pos)
        if token.kind != "op":
            raise self.fail(f"Expected a comparison after {name.text!r} (=, !=, >, >=, <, <=, ^=, ~, IN, LIKE, ILIKE)")
        self.take()
        return Comparison(name, token.text, self.value(), False, token.pos)

    def name(self) -> Name:
        first = self.tok
        parts = [self.name_part()]
        while self.tok.kind == "dot":
            self.take()
            parts.append(self.name_part())
        return Name(tuple(parts), first.pos)

    def name_part(self) -> str:
        token = self.tok
        if token.kind in ("word", "quoted_name"):
            self.take()
            return token.text
        if token.kind == "keyword" and token.text not in ("AND", "OR", "NOT"):
            self.take()  # a key that happens to be a keyword, e.g. params.in
            return token.text.lower()
        if token.kind == "string" and self.tokens[self.i + 1].kind in ("dot", "op", "keyword"):
            self.take()  # MLflow accepts "double-quoted" names too
            return token.text
        raise self.fail("Expected a name such as status, metrics.lcr or params.`odd key`")

    def value(self) -> Value:
        token = self.tok
        if token.kind in ("string", "number", "date", "duration", "word"):
            self.take()
            return Value(token.kind, token.text, token.pos)
        if self.at_keyword("TRUE", "FALSE"):
            self.take()
            return Value("bool", token.text, token.pos)
        if self.at_keyword("NULL"):
            raise self.fail("Use IS NULL or IS NOT NULL to test for a missing value")
        if token.kind == "keyword":  # a value that happens to be a keyword, e.g. kind = desc
            self.take()
            return Value("word", token.text.lower(), token.pos)
        raise self.fail("Expected a value (a number, a 'string', a date, -7d, …)")

    def value_list(self) -> tuple[Value, ...]:
        if self.tok.kind != "lparen":
            raise self.fail("Expected '(' after IN")
        self.take()
        values = [self.value()]
        while self.tok.kind == "comma":
            self.take()
            values.append(self.value())
        if self.tok.kind != "rparen":
            raise self.fail("Expected ',' or ')' in the IN list")
        self.take()
        return tuple(values)

    def order(self) -> list[OrderItem]:
        items: list[OrderItem] = []
        while True:
            descending = False
            if self.tok.kind == "op" and self.tok.text == "-":  # never produced: '-' is read as part of names below
                self.take()
            if self.tok.kind in ("number", "duration"):
                raise self.fail("Expected a name to sort by")
            name = self.name()
            if self.at_keyword("ASC", "DESC"):
                descending = self.take().text == "DESC"
            items.append(OrderItem(name, descending))
            if self.tok.kind == "end":
                return items
            if self.tok.kind != "comma":
                raise self.fail("Expected ASC, DESC, ',' or the end of the sort")
            self.take()


def parse_query(text: str) -> Node | None:
    """The tree of a filter; None for an empty one."""
    tokens = tokenize(text)
    if tokens[0].kind == "end":
        return None
    return _Parser(text, tokens).query()


def parse_order_item(text: str) -> OrderItem:
    """One sort key: `metrics.rwa_total DESC`, `-created`, `params.mix`."""
    stripped = text.strip()
    descending = stripped.startswith("-")
    body = stripped[1:] if descending else stripped
    offset = len(text) - len(text.lstrip()) + (1 if descending else 0)
    tokens = [Token(t.kind, t.text, t.pos + offset) for t in tokenize(body)]
    if tokens[0].kind == "end":
        raise QueryError("Expected a name to sort by.", offset, text)
    parser = _Parser(text, tokens)
    items = parser.order()
    if len(items) != 1:
        raise QueryError("One sort key per item.", tokens[-1].pos, text)
    item = items[0]
    return OrderItem(item.name, item.descending != descending if descending else item.descending)
