"""Forms of the simulation pages."""
from __future__ import annotations

import copy
from typing import Any

from django import forms

from simulations import conf
from simulations.engine import RegulatorySettings
from simulations.params import SETTINGS_FIELDS, SimulationParamsForm


class ComputeForm(forms.Form):
    """A user's positions file and, optionally, their capital stack."""

    positions = forms.FileField(
        help_text="CSV with a header row, or Parquet, in the positions format (the page linked above; an example file is there too).",
    )
    capital = forms.FileField(
        required=False,
        help_text='JSON such as {"cet1": 550000000, "at1": 100000000, "tier2": 150000000} (EUR). '
                  "Without it, the capital ratios use the capital instruments of the positions file.",
    )

    def clean_positions(self):
        upload = self.cleaned_data["positions"]
        limit = conf.upload_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
        return upload

    def clean_capital(self):
        upload = self.cleaned_data.get("capital")
        if upload and upload.size > 64 * 1024:
            raise forms.ValidationError("A capital file is a small JSON object; this one is over 64 KiB.")
        return upload


# The regulatory settings of one computation (docs/simulations.md): the launch
# form's fields, optional here (empty keeps the engine's default), and the
# as-of date of maturities given in days or as dates.
COMPUTE_SETTINGS_FIELDS: tuple[str, ...] = (*SETTINGS_FIELDS, "as_of_date")


def _optional(name: str) -> forms.Field:
    field = copy.deepcopy(SimulationParamsForm.base_fields[name])
    if isinstance(field, forms.BooleanField):
        # A switch needs three states: yes, no, or the default.
        field = forms.NullBooleanField(label=field.label, help_text=field.help_text, widget=forms.Select(
            choices=[("unknown", f"default ({'yes' if field.initial else 'no'})"), ("true", "yes"), ("false", "no")]
        ))
    elif isinstance(field, forms.ChoiceField):
        field.choices = [("", f"default ({field.initial})"), *field.choices]
    field.required = False
    field.initial = None
    return field


for _name in SETTINGS_FIELDS:
    ComputeForm.base_fields[_name] = _optional(_name)
ComputeForm.base_fields["as_of_date"] = forms.DateField(
    required=False, help_text="YYYY-MM-DD: the date maturities in days or as dates are measured from.",
)


def compute_settings(cleaned: dict[str, Any]) -> RegulatorySettings:
    """The settings of a valid ComputeForm; raises ValueError naming the setting the engine refuses."""
    values: dict[str, Any] = {}
    for name in COMPUTE_SETTINGS_FIELDS:
        value = cleaned.get(name)
        if value in (None, ""):
            continue
        values[name] = value.isoformat() if name == "as_of_date" else value
    return RegulatorySettings.from_dict(values)
