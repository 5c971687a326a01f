"""The tokenizer of the run query language: text in, a list of positioned tokens out.

Hand-written (no eval, no regular-expression parser generator) so that every
error can name the character where reading stopped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from runs.query.errors import QueryError

KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "TRUE", "FALSE", "ASC", "DESC"}
OPERATORS = ("^=", "!=", "<>", ">=", "<=", "==", "=", ">", "<", "~")
MAX_QUERY_LENGTH = 4000


@dataclass(frozen=True)
class Token:
    kind: str  # word, keyword, string, quoted_name, number, duration, date, op, lparen, rparen, comma, dot, end
    text: str  # the value: unquoted for strings and quoted names, upper-case for keywords
    pos: int  # offset of the token's first character in the query


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w.])")
_DURATION = re.compile(r"[+-]?\d+(?:\.\d+)?[smhdw](?![\w.])")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w])")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-:]*")


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; a character that starts no token is a QueryError at its position."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"The query is longer than {MAX_QUERY_LENGTH} characters.", MAX_QUERY_LENGTH, text)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"`":
            value, end = _quoted(text, i)
            tokens.append(Token("quoted_name" if c == "`" else "string", value, i))
            i = end
            continue
        if c == "(":
            tokens.append(Token("lparen", c, i))
            i += 1
            continue
        if c == ")":
            tokens.append(Token("rparen", c, i))
            i += 1
            continue
        if c == ",":
            tokens.append(Token("comma", c, i))
            i += 1
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        # A sign followed by a digit is part of a number or duration (created > -7d), not an operator.
        if op and not (c in "+-" and i + 1 < n and text[i + 1].isdigit()):
            tokens.append(Token("op", "=" if op == "==" else "!=" if op == "<>" else op, i))
            i += len(op)
            continue
        for kind, pattern in (("date", _DATE), ("duration", _DURATION), ("number", _NUMBER)):
            match = pattern.match(text, i)
            if match:
                tokens.append(Token(kind, match.group(), i))
                i = match.end()
                break
        else:
            if c == ".":
                tokens.append(Token("dot", c, i))
                i += 1
                continue
            match = _WORD.match(text, i)
            if not match:
                raise QueryError(f"Unexpected character {c!r}.", i, text)
            word = match.group()
            upper = word.upper()
            tokens.append(Token("keyword", upper, i) if upper in KEYWORDS else Token("word", word, i))
            i = match.end()
    tokens.append(Token("end", "", n))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The text between a quote and its match; a doubled quote or a backslash escapes one."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == quote:
            if text.startswith(quote * 2, i):
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise QueryError(f"This {'name' if quote == '`' else 'string'} is never closed (missing {quote}).", start, text)
