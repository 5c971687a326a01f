"""The parameters of a `finops_batch` run: periods, domains, source folder."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_PERIODS = 36


class CommaListField(forms.CharField):
    """A list given as text separated by commas ("2026-10,2026-11"), or as a list of texts.

    A CharField for the page (a text box) and the API schema (a string); lists are accepted too.
    """

    def to_python(self, value: Any) -> list[str]:
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            items = value.split(",")
        elif isinstance(value, (list, tuple)):
            items = []
            for item in value:
                if not isinstance(item, str):
                    raise forms.ValidationError("Give text values.")
                items.extend(item.split(","))
        else:
            raise forms.ValidationError("Give a list, or values separated by commas.")
        return [item.strip() for item in items if item.strip()]

    def prepare_value(self, value: Any) -> Any:
        return ",".join(value) if isinstance(value, (list, tuple)) else value


def default_periods(today: date | None = None) -> list[str]:
    """The current month and a recompute of the previous one."""
    today = today or date.today()
    previous = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    return [f"{previous:%Y-%m}", f"{today:%Y-%m}"]


def source_allowed(path: Path) -> bool:
    roots = [Path(settings.FINOPS_SOURCE_DIR), *map(Path, settings.FINOPS_SOURCE_ROOTS)]
    resolved = path.resolve()
    return any(resolved == root.resolve() or resolved.is_relative_to(root.resolve()) for root in roots)


class FinopsBatchParamsForm(forms.Form):
    periods = CommaListField(
        required=False, initial="",
        help_text="Months YYYY-MM separated by commas; empty: the current month and the previous one (recomputed).",
    )
    domains = CommaListField(
        required=False, initial="", help_text="Domain codes separated by commas; empty: every domain.",
    )
    source = forms.CharField(
        required=False, initial="", max_length=500,
        help_text="Folder holding one sub-folder per domain; empty: the FINOPS_SOURCE_DIR setting.",
    )

    def clean_periods(self) -> list[str]:
        periods = self.cleaned_data["periods"] or default_periods()
        bad = [p for p in periods if not PERIOD_RE.match(p)]
        if bad:
            raise forms.ValidationError(f"Not a month YYYY-MM: {', '.join(bad[:5])}.")
        periods = sorted(set(periods))
        if len(periods) > MAX_PERIODS:
            raise forms.ValidationError(f"At most {MAX_PERIODS} months per batch.")
        return periods

    def clean_domains(self) -> list[str]:
        from finops_admin.models import Domain

        known = list(Domain.objects.order_by("position", "code").values_list("code", flat=True))
        asked = [d.lower() for d in self.cleaned_data["domains"]]
        unknown = sorted(set(asked) - set(known))
        if unknown:
            raise forms.ValidationError(f"Unknown domain(s): {', '.join(unknown)} (known: {', '.join(known)}).")
        return [d for d in known if d in asked] if asked else known

    def clean_source(self) -> str:
        text = (self.cleaned_data["source"] or "").strip()
        path = Path(text) if text else Path(settings.FINOPS_SOURCE_DIR)
        if not path.is_absolute():
            path = Path(settings.BASE_DIR) / path
        if not text:
            # The configured folder is ours: a batch on a fresh install finds it empty, not missing.
            path.mkdir(parents=True, exist_ok=True)
        if not source_allowed(path):
            roots = ", ".join(str(r) for r in [settings.FINOPS_SOURCE_DIR, *settings.FINOPS_SOURCE_ROOTS])
            raise forms.ValidationError(f"The source must be a folder under {roots}.")
        if not path.is_dir():
            raise forms.ValidationError(f"No such folder: {path}.")
        return str(path.resolve())
