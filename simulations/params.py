"""Parameters of a simulation run: the launch form and what they mean to the engine."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
from django import forms

from runs.hashing import canonicalize, params_hash
from simulations import conf
from simulations.engine import RegulatorySettings, SimulationConfig

# Knobs of the launch form that are fields of SimulationConfig / RegulatorySettings.
CONFIG_FIELDS = (
    "total_assets_eur", "off_balance_ratio", "derivative_ratio", "include_off_balance", "include_derivatives",
)
SETTINGS_FIELDS = (
    "countercyclical_buffer", "real_estate_approach", "rmbs_risk_weight", "lcr_stable_retail_enhanced",
    "lcr_less_stable_retail_rate", "lcr_other_contingent_rate", "nsfr_derivative_liabilities_rsf",
    "nsfr_other_contingent_rsf", "leverage_ccf_floor", "scra_grade_a_reduced_rw_enabled",
    "scra_grade_a_cet1_threshold", "scra_grade_a_leverage_threshold",
)


class SimulationParamsForm(forms.Form):
    """The launch form of a simulation run (page, API, command and admin all validate with it)."""

    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=42, help_text="Seeds the generator.")
    n_positions = forms.IntegerField(
        label="Positions",
        min_value=conf.MIN_POSITIONS,
        max_value=conf.MAX_POSITIONS,
        initial=100_000,
        help_text=f"Rows of the simulated book ({conf.MIN_POSITIONS:,} to {conf.MAX_POSITIONS:,}).",
    )
    total_assets_eur = forms.FloatField(
        label="Total assets (EUR)", min_value=1e6, max_value=1e15, initial=10_000_000_000.0,
        help_text="On-balance assets of the simulated bank.",
    )
    off_balance_ratio = forms.FloatField(
        min_value=0, max_value=5, initial=0.12, help_text="Undrawn off-balance items, as a fraction of total assets."
    )
    derivative_ratio = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.02,
        help_text="Derivative assets and liabilities, as a fraction of total assets."
    )
    include_off_balance = forms.BooleanField(required=False, initial=True, help_text="Draw off-balance items.")
    include_derivatives = forms.BooleanField(required=False, initial=False, help_text="Draw derivatives.")
    countercyclical_buffer = forms.FloatField(
        min_value=0, max_value=0.025, initial=0.0,
        help_text="Added to the capital requirements with buffers (fraction)."
    )
    # The user-settable values of docs/simulations.md (jurisdiction options and
    # values the Basel texts leave open); they are kept in the run's parameters.
    real_estate_approach = forms.ChoiceField(
        choices=[("whole_loan", "Whole loan (d424 Tables 11, 13)"), ("loan_splitting", "Loan-splitting (paras 65, 71)")],
        initial="whole_loan", required=False, help_text="Treatment of general residential and commercial real estate.",
    )
    rmbs_risk_weight = forms.FloatField(
        label="RMBS risk weight", required=False, min_value=0.15, max_value=12.5, initial=1.0,
        help_text="Risk weight of residential mortgage-backed securities held (fraction, at least 0.15).",
    )
    lcr_stable_retail_enhanced = forms.BooleanField(
        label="Enhanced deposit insurance (3% stable retail run-off)", required=False, initial=False,
        help_text="BCBS238 para 78 national discretion.",
    )
    lcr_less_stable_retail_rate = forms.FloatField(
        required=False, min_value=0.10, max_value=1, initial=0.10, help_text="Less-stable retail run-off (at least 0.10)."
    )
    lcr_other_contingent_rate = forms.FloatField(
        required=False, min_value=0, max_value=1, initial=0.0, help_text="Run-off of other contingent funding obligations."
    )
    nsfr_derivative_liabilities_rsf = forms.FloatField(
        required=False, min_value=0, max_value=1, initial=0.20, help_text="RSF on gross derivative liabilities (d295 para 43(d))."
    )
    nsfr_other_contingent_rsf = forms.FloatField(
        required=False, min_value=0, max_value=1, initial=0.0, help_text="RSF of other contingent funding obligations (d295 para 47)."
    )
    leverage_ccf_floor = forms.FloatField(
        required=False, min_value=0, max_value=1, initial=0.10, help_text="Floor on off-balance CCFs in the leverage exposure."
    )
    scra_grade_a_reduced_rw_enabled = forms.BooleanField(
        label="SCRA Grade A at 30% when the thresholds are met", required=False, initial=True,
        help_text="d424 Table 7 footnote 18.",
    )
    scra_grade_a_cet1_threshold = forms.FloatField(required=False, min_value=0, max_value=1, initial=0.14)
    scra_grade_a_leverage_threshold = forms.FloatField(required=False, min_value=0, max_value=1, initial=0.05)
    use_cache = forms.BooleanField(
        label="Use the result cache", required=False, initial=True,
        help_text="Untick to force a recompute even when identical parameters were computed before.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # A regulatory setting left empty keeps its default (forms written before it still post).
        for name in SETTINGS_FIELDS:
            if cleaned.get(name) in (None, ""):
                cleaned[name] = _initial(name)
        # The engine has rules across fields (capital shares leave room for
        # funding, …); its message names the field.
        try:
            spec_from_params(cleaned)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned


@dataclass(frozen=True)
class SimulationSpec:
    """Everything a simulation needs: what to draw, how to weigh it, whether to reuse results."""

    seed: int
    n_positions: int
    config: SimulationConfig
    settings: RegulatorySettings
    use_cache: bool = True

    def cache_params(self) -> dict[str, Any]:
        """The canonical parameters that decide the result bytes: the cache key's content.

        The Parquet writer records the pandas and pyarrow versions in each file,
        so they are part of the key: a cache hit returns the bytes a recompute
        would give.
        """
        return canonicalize(
            {
                "engine": conf.ENGINE_VERSION,
                "part_rows": conf.PART_ROWS,
                "writer": {"pandas": pd.__version__, "pyarrow": pa.__version__},
                "seed": self.seed,
                "n_positions": self.n_positions,
                "config": self.config.to_dict(),
                "settings": self.settings.to_dict(),
            }
        )

    def cache_key(self) -> str:
        return params_hash(self.cache_params())

    def run_params(self) -> dict[str, Any]:
        """The launch-form parameters that give this spec."""
        config = self.config.to_dict()
        regulatory = self.settings.to_dict()
        return {
            "seed": self.seed,
            "n_positions": self.n_positions,
            **{name: config[name] for name in CONFIG_FIELDS},
            **{name: regulatory[name] for name in SETTINGS_FIELDS},
            "use_cache": self.use_cache,
        }


def _initial(name: str) -> Any:
    return SimulationParamsForm.base_fields[name].initial


def _setting_value(name: str, raw: Any) -> Any:
    """A setting as the engine takes it: choices as text, switches as booleans, numbers as floats."""
    initial = _initial(name)
    if isinstance(initial, bool):
        return bool(raw)
    if isinstance(initial, str):
        return str(raw)
    return float(raw)


def spec_from_params(params: dict[str, Any]) -> SimulationSpec:
    """The spec of a run's (cleaned) parameters; a missing parameter takes the form's initial value.

    Raises ValueError naming the field when the engine refuses the combination.
    """
    def value(name: str) -> Any:
        return params.get(name, _initial(name))

    config = SimulationConfig.from_dict({name: value(name) for name in CONFIG_FIELDS})
    # Canonical parameters spell 0.0 as 0; the settings must see a float, or the
    # results would write 0 where a recompute from a float writes 0.0.
    regulatory = RegulatorySettings.from_dict({name: _setting_value(name, value(name)) for name in SETTINGS_FIELDS})
    return SimulationSpec(
        seed=int(value("seed")),
        n_positions=int(value("n_positions")),
        config=config,
        settings=regulatory,
        use_cache=bool(value("use_cache")),
    )


def run_params_from_cache_params(params: dict[str, Any]) -> dict[str, Any]:
    """Launch-form parameters from a ParameterSet's stored parameters (to launch it again)."""
    spec = SimulationSpec(
        seed=params["seed"],
        n_positions=params["n_positions"],
        config=SimulationConfig.from_dict(params["config"]),
        settings=RegulatorySettings.from_dict(params["settings"]),
    )
    return spec.run_params()
