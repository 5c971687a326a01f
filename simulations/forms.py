"""Forms of the simulation pages."""
from __future__ import annotations

from django import forms

from simulations import conf


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
