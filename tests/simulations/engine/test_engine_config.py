"""SimulationConfig and RegulatorySettings: round trips and clear errors."""

from __future__ import annotations

import json

import pytest

from simulations.engine import DEFAULT_CONFIG, RegulatorySettings, SimulationConfig


def test_the_default_config_round_trips_through_json():
    data = json.loads(json.dumps(DEFAULT_CONFIG.to_dict()))
    assert SimulationConfig.from_dict(data) == DEFAULT_CONFIG
    assert hash(SimulationConfig.from_dict(data)) == hash(DEFAULT_CONFIG)


def test_a_partial_dict_keeps_the_other_defaults():
    config = SimulationConfig.from_dict({"total_assets_eur": 1e6, "include_derivatives": True})
    assert config.total_assets_eur == 1e6
    assert config.include_derivatives is True
    assert config.product_mix == DEFAULT_CONFIG.product_mix


def test_a_maturity_profile_override_merges_with_the_defaults():
    config = SimulationConfig.from_dict({"maturity_profile": {"corporate": 7.0}})
    assert config.maturity_profile["corporate"] == 7.0
    assert config.maturity_profile["rre_general"] == DEFAULT_CONFIG.maturity_profile["rre_general"]


def test_the_config_is_immutable():
    with pytest.raises(TypeError):
        DEFAULT_CONFIG.product_mix["corporate"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"total_assets": 1.0}, "unknown config field(s): total_assets"),
        ({"total_assets_eur": -5.0}, "'total_assets_eur'"),
        ({"total_assets_eur": "big"}, "'total_assets_eur': must be a number"),
        ({"product_mix": {"bitcoin": 1.0}}, "unknown key 'bitcoin'"),
        ({"product_mix": {"corporate": 0.0}}, "'product_mix': weights must sum to more than 0"),
        ({"product_mix": {"corporate": -1.0}}, "non-negative"),
        ({"rating_distribution": {"AAA+": 1.0}}, "'rating_distribution': unknown key 'AAA+'"),
        ({"include_derivatives": "yes"}, "'include_derivatives': must be true or false"),
        ({"cet1_share": 0.6, "at1_share": 0.3, "tier2_share": 0.2}, "leave room for funding"),
        ({"maturity_profile": {"cash": 1.0}}, "'maturity_profile': unknown key 'cash'"),
        ({"maturity_profile": {"corporate": 0.0}}, "mean maturity of 'corporate'"),
    ],
)
def test_a_bad_config_raises_a_value_error_naming_the_field(data, message):
    with pytest.raises(ValueError) as caught:
        SimulationConfig.from_dict(data)
    assert message in str(caught.value)


def test_the_capital_stack_follows_the_shares():
    stack = SimulationConfig(total_assets_eur=1000.0, cet1_share=0.05, at1_share=0.01, tier2_share=0.02).capital_stack()
    assert (stack.cet1, stack.at1, stack.tier2) == (50.0, 10.0, 20.0)


def test_settings_round_trip_and_reject_unknown_keys():
    settings = RegulatorySettings(countercyclical_buffer=0.01)
    assert RegulatorySettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown setting"):
        RegulatorySettings.from_dict({"leverage_floor": 0.1})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"leverage_ccf_floor": -0.1},
        {"nsfr_derivative_liabilities_rsf": 1.5},
        {"lcr_less_stable_retail_rate": 0.05},
        {"countercyclical_buffer": 0.03},
        {"scra_grade_a_reduced_rw_enabled": "yes"},
        {"scra_grade_a_cet1_threshold": "14%"},
    ],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        RegulatorySettings(**kwargs)
