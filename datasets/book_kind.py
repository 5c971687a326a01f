"""The `positions_book` run kind: every metric of a bank book held in a positions dataset.

The compute-your-own-book path (simulations.user_files.compute_book: the positions
format of docs/positions_format.md, validated row by row, weighed by the engine),
run on a worker over a stored dataset version instead of an upload. The run's
parameters pin the dataset's id, version and SHA-256; the bytes are hashed again
before they are read, so a run never computes on data other than what it names.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django import forms

from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run

METRICS_FILE = "book_metrics.json"
# The figures the run keeps as its metrics (the whole document is its artifact).
HEADLINE = ("cet1_ratio", "tier1_ratio", "total_capital_ratio", "leverage_ratio", "lcr", "nsfr", "total_rwa")


class DatasetIntegrityError(Exception):
    """The dataset's stored bytes are not the ones the run was launched on."""


class PositionsBookForm(forms.Form):
    """Which positions dataset (and, optionally, which capital stack) to weigh."""

    positions_dataset = forms.IntegerField(min_value=1, max_value=2**63 - 1, label="Positions dataset",
                                           help_text="A dataset in the positions format (docs/positions_format.md).")
    positions_dataset_sha256 = forms.CharField(
        required=False, max_length=64, label="Dataset SHA-256",
        help_text="The checksum the data must have; empty: the dataset's current checksum.",
    )
    positions_dataset_version = forms.IntegerField(
        required=False, min_value=1, widget=forms.HiddenInput,
        help_text="Recorded from the dataset at launch; a given value is replaced.",
    )
    capital = forms.JSONField(
        required=False, initial=None, widget=forms.Textarea(attrs={"rows": 2}),
        help_text='Optional {"cet1": …, "at1": …, "tier2": …} in EUR; empty: the capital instruments of the book.',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from simulations.training.models import Dataset

        choices = [("", "— choose a dataset —")] + [
            (d.pk, f"#{d.pk} {d.name} v{d.version} ({d.rows:,} rows)")
            for d in Dataset.objects.order_by("-created_at", "-id")[:200]
        ]
        self.fields["positions_dataset"].widget = forms.Select(choices=choices)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        from simulations.engine import CapitalFormatError, validate_capital
        from simulations.training.models import Dataset

        dataset = Dataset.objects.filter(pk=cleaned["positions_dataset"]).first()
        if dataset is None:
            self.add_error("positions_dataset", f"No dataset #{cleaned['positions_dataset']}.")
            return cleaned
        cleaned["positions_dataset_version"] = dataset.version
        sha = (cleaned.get("positions_dataset_sha256") or "").strip().lower()
        if not sha:
            cleaned["positions_dataset_sha256"] = dataset.sha256
        elif sha != dataset.sha256:
            self.add_error("positions_dataset_sha256", f"Dataset #{dataset.pk} has checksum {dataset.sha256}, not {sha}.")
        if cleaned.get("capital") not in (None, "", {}):
            try:
                cleaned["capital"] = validate_capital(cleaned["capital"]).to_dict()
            except CapitalFormatError as exc:
                self.add_error("capital", str(exc))
        else:
            cleaned["capital"] = None
        return cleaned


def _checked_path(dataset: Any, expected: str) -> str:
    from datasets.selectors import dataset_local_path

    path = dataset_local_path(dataset=dataset)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if actual != dataset.sha256 or actual != expected:
        raise DatasetIntegrityError(
            f"dataset #{dataset.pk} ({dataset.label}): stored bytes have SHA-256 {actual[:12]}…, the run was launched "
            f"on {expected[:12]}…; refused"
        )
    return path


def execute_positions_book(run: Run, ctx: RunContext) -> None:
    """Check the dataset's bytes, weigh its positions with the engine, store every figure."""
    from simulations.engine import CapitalStack, PositionsFormatError
    from simulations.results import plain
    from simulations.training.models import Dataset
    from simulations.user_files import compute_book

    p = run.params
    dataset = Dataset.objects.filter(pk=p["positions_dataset"]).first()
    if dataset is None:
        raise LookupError(f"dataset #{p['positions_dataset']} no longer exists")
    ctx.progress(2, f"Reading {dataset.label} ({dataset.rows:,} rows) and checking its SHA-256")
    path = _checked_path(dataset, p["positions_dataset_sha256"])
    ctx.check_cancelled()
    ctx.progress(10, "Validating and weighing the positions")
    capital = CapitalStack(**p["capital"]) if p.get("capital") else None
    try:
        book = compute_book(path, filename=f"{dataset.name}.{dataset.format}", capital=capital)
    except PositionsFormatError as exc:
        raise ValueError(f"{dataset.label} is not in the positions format: {exc}") from None
    ctx.check_cancelled()
    document = plain({"dataset": {"id": dataset.pk, "name": dataset.name, "version": dataset.version,
                                  "sha256": dataset.sha256}, **book.as_dict()})
    ctx.save_artifact(METRICS_FILE, json.dumps(document, sort_keys=True, indent=1).encode(), "application/json")
    summary = document.get("summary") or {}
    metrics: dict[str, Any] = {"positions": book.n_positions, "capital_source": book.capital_source}
    metrics.update({k: summary[k] for k in HEADLINE if isinstance(summary.get(k), (int, float))})
    ctx.set_metrics(metrics)
    ctx.progress(100, f"Weighed {book.n_positions:,} positions of {dataset.label}")


def validate_positions_book_import(run: Run) -> list[str]:
    names = set(run.artifacts.values_list("name", flat=True))
    return [] if METRICS_FILE in names else [f"{METRICS_FILE} is missing"]


POSITIONS_BOOK = register(
    RunKind(
        name="positions_book",
        label="Book metrics of a positions dataset",
        params_form=PositionsBookForm,
        execute=execute_positions_book,
        description=(
            "Computes credit RWA, LCR, NSFR, capital and leverage ratios of a bank book stored as a dataset in the "
            "positions format (the compute-your-own-book path, on a worker); records the dataset's version and SHA-256."
        ),
        detail_template="datasets/book_panel.html",
        seed_param=None,
        validate_import=validate_positions_book_import,
    )
)
