"""Every URL pattern of the project, enumerated generically, with real paths built from fixtures.

Nothing here names an endpoint: patterns come from Django's resolver (pages, admin,
API router, format-suffix variants), and their parameters are filled from the
objects the fixtures made, by parameter name first and converter second. A new
pattern is therefore crawled the day it is added; a parameter this module cannot
fill fails loudly, saying which one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

SAFE_METHODS = ("GET",)
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Pattern:
    """One URL pattern: where it is, what it is called, which view answers it."""

    route: str  # the concatenated pattern text, e.g. "runs/<str:run_id>/"
    name: str | None  # namespaced name, e.g. "runs:detail", or None
    callback: Any
    parts: list[Any] = field(default_factory=list)  # RoutePattern / RegexPattern chain

    @property
    def key(self) -> str:
        """How the role-matrix table names this pattern: its name, else its route."""
        return self.name or self.route

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_format_suffix(self) -> bool:
        """DRF's `.json`/`.api` twin of another route (same view, same rules)."""
        return "(?P<format>" in self.route or "<drf_format_suffix:format>" in self.route

    def methods(self) -> list[str]:
        """The HTTP methods the view behind this pattern answers (besides HEAD/OPTIONS)."""
        cb = self.callback
        actions = getattr(cb, "actions", None)  # DRF viewset: {"get": "list", "post": "create"}
        if actions:
            return sorted(m.upper() for m in actions if m not in ("head", "options"))
        cls = getattr(cb, "cls", None) or getattr(cb, "view_class", None)
        if cls is not None:
            names = getattr(cls, "http_method_names", [])
            return sorted(m.upper() for m in names if m not in ("head", "options", "trace") and hasattr(cls, m))
        if self.is_admin:
            # Admin function views: the form views take POST, the rest only GET.
            if self.name == "admin:logout":
                return ["POST"]
            if self.name and re.search(r"_(add|change|delete)$|^admin:password_change$", self.name):
                return ["GET", "POST"]
            return ["GET"]
        return ["GET"]


def all_patterns() -> list[Pattern]:
    out: list[Pattern] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str, chain: list[Any]) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), ns, [*chain, entry.pattern])
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                out.append(Pattern(prefix + str(entry.pattern), name, entry.callback, [*chain, entry.pattern]))

    walk(get_resolver(), "", "", [])
    return out


# ---------------------------------------------------------------------------
# Building a real path for a pattern
# ---------------------------------------------------------------------------
_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


class UnfillableParameter(LookupError):
    pass


def _regex_to_path(regex: str, fill: Callable[[str, str], str]) -> str:
    """Turn a simple URL regex into a path: named groups filled, anchors and escapes dropped."""
    text = regex.lstrip("^")
    out, i = [], 0
    while i < len(text):
        if text.startswith("(?P<", i):
            end_name = text.index(">", i)
            name = text[i + 4 : end_name]
            depth, j = 1, end_name + 1
            while depth:
                if text[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            out.append(fill(name, "regex"))
            i = j
        elif text.startswith("\\", i):
            out.append(text[i + 1])
            i += 2
        elif text.startswith("/?", i):
            out.append("/")
            i += 2
        elif text[i] == "$":
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def build_path(pattern: Pattern, fill: Callable[[str, str], str]) -> str:
    """The path of `pattern` with each parameter given by fill(name, converter)."""
    pieces = []
    for part in pattern.parts:
        if isinstance(part, RoutePattern):
            pieces.append(_ROUTE_PARAM.sub(lambda m: fill(m["name"], m["conv"] or "str"), str(part)))
        elif isinstance(part, RegexPattern):
            pieces.append(_regex_to_path(str(part), fill))
        else:  # LocalePrefixPattern and the like
            pieces.append(str(part))
    return "/" + "".join(pieces).replace("//", "/")


def resolves_to(path: str, pattern: Pattern) -> bool:
    """Does `path` reach the pattern it was built from (and not a shadowing one)?"""
    try:
        match = resolve(path.split("?")[0])
    except Exception:
        return False
    return match.func is pattern.callback
