"""The simulation's parameters: the launch form, the spec, the result layout."""
from __future__ import annotations

import pytest

from simulations import conf
from simulations.params import SimulationParamsForm, run_params_from_cache_params, spec_from_params
from simulations.results import layout, part_name, part_ranges


def _form(**data):
    base = {name: field.initial for name, field in SimulationParamsForm.base_fields.items()}
    return SimulationParamsForm(data={**base, **data})


def test_the_initial_values_are_valid():
    assert _form().is_valid()


@pytest.mark.parametrize(
    "field, value",
    [("n_positions", 99), ("n_positions", conf.MAX_POSITIONS + 1), ("seed", -1), ("total_assets_eur", 10),
     ("off_balance_ratio", 6), ("countercyclical_buffer", 0.03)],
)
def test_out_of_range_values_are_refused_by_field(field, value):
    form = _form(**{field: value})
    assert not form.is_valid() and field in form.errors


def test_an_unticked_box_means_false():
    form = _form(use_cache="", include_off_balance="")
    assert form.is_valid()
    assert form.cleaned_data["use_cache"] is False and form.cleaned_data["include_off_balance"] is False


def test_a_parameter_set_launches_the_same_spec_again():
    spec = spec_from_params(
        {"seed": 3, "n_positions": 777, "include_derivatives": True, "countercyclical_buffer": 0.01}
    )
    again = spec_from_params(run_params_from_cache_params(spec.cache_params()))
    assert again.cache_key() == spec.cache_key()


def test_use_cache_is_not_part_of_the_key():
    assert spec_from_params({"use_cache": False}).cache_key() == spec_from_params({"use_cache": True}).cache_key()


def test_tables_are_split_into_parts_of_fixed_size():
    assert part_ranges(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert part_name("positions", 0, 1) == "positions.parquet"
    assert part_name("explain", 2, 3) == "explain-00002-of-00003.parquet"
    files = layout(2_500, 1_000)
    assert [f.name for f in files if f.kind == "positions"] == [
        "positions-00000-of-00003.parquet", "positions-00001-of-00003.parquet", "positions-00002-of-00003.parquet",
    ]
    assert [f.rows for f in files if f.kind == "explain"] == [1_000, 1_000, 500]
    assert len(files) == 6 + 6


def test_a_million_positions_fit_in_one_part():
    assert len(part_ranges(1_000_000, conf.PART_ROWS)) == 1
