"""The launch form of a training run (page, API, command and admin all validate with it)."""
from __future__ import annotations

from typing import Any

from django import forms

from simulations.training.fit import MODEL_TYPE_CHOICES, MODEL_TYPES, TRUTH_COLUMNS, TrainingInputError, validate_hyperparameters


class _ListInput(forms.TextInput):
    """Shows a list of column names as `a, b, c` (a cloned run's parameters are lists)."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return super().format_value(value)


class ColumnListField(forms.Field):
    """Column names as a JSON list (API) or a comma-separated text (page, command)."""

    widget = _ListInput

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",")]
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            raise forms.ValidationError("a list of column names")
        if not all(isinstance(v, str) and v and len(v) <= 200 for v in items):
            raise forms.ValidationError("column names must be non-empty texts")
        if len(set(items)) != len(items):
            raise forms.ValidationError("a column is named twice")
        return list(items)


class _DatasetSelect(forms.Select):
    """The dataset id chosen from the stored datasets (filled in when the form is built)."""


class TrainingParamsForm(forms.Form):
    model_type = forms.ChoiceField(choices=MODEL_TYPE_CHOICES, initial="pd_gbm", help_text="What to fit.")
    dataset = forms.IntegerField(
        min_value=1, help_text="Id of the dataset to train on (generate one with generate_credit_data or "
                               "generate_market_series, or upload a CSV/Parquet file).",
        widget=_DatasetSelect,
    )
    dataset_sha256 = forms.CharField(
        required=False, max_length=64, label="Dataset SHA-256",
        help_text="The checksum the data must have; left empty, the dataset's current checksum is taken. "
                  "A run refuses data whose stored bytes no longer match it.",
    )
    dataset_version = forms.IntegerField(
        required=False, min_value=1, widget=forms.HiddenInput,
        help_text="Recorded from the dataset at launch (its version under its name); a given value is replaced.",
    )
    target = forms.CharField(
        required=False, max_length=200,
        help_text="Column to predict (for GARCH: the returns). Empty: the model type's usual column "
                  "(default, regime, return).",
    )
    features = ColumnListField(
        required=False, help_text="Comma-separated feature columns. Empty: the model type's usual features.",
    )
    hyperparameters = forms.JSONField(
        required=False, initial={},
        help_text='A JSON object, e.g. {"max_iter": 200}; what is left out takes its default.',
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    train_fraction = forms.FloatField(min_value=0.05, max_value=0.95, initial=0.6)
    validation_fraction = forms.FloatField(min_value=0.01, max_value=0.9, initial=0.2)
    test_fraction = forms.FloatField(
        min_value=0.01, max_value=0.9, initial=0.2,
        help_text="Shuffled by the seed for tables, by time (in row order) for series models.",
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=42, help_text="Seeds the split and the fit.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from simulations.training.models import Dataset

        choices = [("", "— choose a dataset —")] + [
            (d.pk, f"#{d.pk} {d.name} v{d.version} ({d.rows:,} rows, {d.sha256[:10]}…)")
            for d in Dataset.objects.order_by("-created_at", "-id")[:200]
        ]
        self.fields["dataset"].widget.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        from simulations.training.models import Dataset

        spec = MODEL_TYPES[cleaned["model_type"]]
        dataset = Dataset.objects.filter(pk=cleaned["dataset"]).first()
        if dataset is None:
            self.add_error("dataset", f"No dataset #{cleaned['dataset']}.")
            return cleaned
        # The run records which version of the name it read, beside the checksum that pins its bytes.
        cleaned["dataset_version"] = dataset.version
        sha = (cleaned.get("dataset_sha256") or "").strip().lower()
        if not sha:
            cleaned["dataset_sha256"] = dataset.sha256
        elif sha != dataset.sha256:
            self.add_error("dataset_sha256", f"Dataset #{dataset.pk} has checksum {dataset.sha256}, not {sha}.")
        cleaned["target"] = (cleaned.get("target") or "").strip() or spec.default_target
        if not cleaned["features"] and spec.needs_features:
            cleaned["features"] = [f for f in spec.default_features if f in dataset.column_names] or \
                [c for c in dataset.column_names if c != cleaned["target"] and c not in TRUTH_COLUMNS]
        target, features = cleaned["target"], cleaned["features"]
        unknown = [c for c in [target, *features] if c not in dataset.column_names]
        if target not in dataset.column_names:
            self.add_error("target", f"Dataset #{dataset.pk} has no column {target!r} "
                                     f"(columns: {', '.join(dataset.column_names)}).")
        elif unknown:
            self.add_error("features", f"Dataset #{dataset.pk} has no column(s) {', '.join(map(repr, unknown))} "
                                       f"(columns: {', '.join(dataset.column_names)}).")
        else:
            self._check_schema(dataset, spec, target, features)
        try:
            cleaned["hyperparameters"] = validate_hyperparameters(spec.name, cleaned.get("hyperparameters") or {})
        except TrainingInputError as exc:
            self.add_error("hyperparameters", str(exc))
        total = cleaned["train_fraction"] + cleaned["validation_fraction"] + cleaned["test_fraction"]
        if abs(total - 1.0) > 1e-6:
            self.add_error("test_fraction", f"Train, validation and test fractions must add up to 1 (they add up to {total:g}).")
        return cleaned

    def _check_schema(self, dataset: Any, spec: Any, target: str, features: list[str]) -> None:
        """Refuse at launch what the stored schema already shows: NaN features, a one-class target."""
        if target in features:
            self.add_error("features", f"The target {target!r} cannot also be a feature.")
            return
        if spec.task == "classification":
            leaks = [f for f in features if f in TRUTH_COLUMNS]
            if leaks:
                self.add_error("features", f"Truth column(s) of generated data cannot be features: {', '.join(leaks)}.")
        for name in features:
            col = dataset.column(name)
            if col["nulls"]:
                self.add_error("features", f"Feature {name!r} has {col['nulls']} missing value(s) (NaN).")
            elif col.get("non_finite"):
                self.add_error("features", f"Feature {name!r} has infinite values.")
            elif spec.task != "classification" and not col["numeric"]:
                self.add_error("features", f"Feature {name!r} must be numeric for {spec.name}.")
        tcol = dataset.column(target)
        if spec.task == "volatility":
            if not tcol["numeric"] or tcol["nulls"] or tcol.get("non_finite"):
                self.add_error("target", f"The returns column {target!r} must be numeric, without NaN.")
            return
        if tcol["nulls"]:
            self.add_error("target", f"Target {target!r} has {tcol['nulls']} missing value(s).")
        elif tcol["n_distinct"] < 2:
            self.add_error("target", f"Target {target!r} has a single class: nothing to learn.")
        elif tcol["n_distinct"] > 50:
            self.add_error("target", f"Target {target!r} has more than 50 distinct values: not a class label.")

    def fractions(self) -> tuple[float, float, float]:
        c = self.cleaned_data
        return c["train_fraction"], c["validation_fraction"], c["test_fraction"]
