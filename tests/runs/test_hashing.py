import pytest

from runs.hashing import canonical_json, params_hash


def test_it_ignores_key_order():
    assert params_hash({"a": 1, "b": {"x": 2, "y": 3}}) == params_hash({"b": {"y": 3, "x": 2}, "a": 1})


def test_it_treats_integral_floats_as_integers():
    assert params_hash({"n": 5, "rate": 0.5}) == params_hash({"n": 5.0, "rate": 0.5})


def test_it_tells_different_values_apart():
    assert params_hash({"n": 5}) != params_hash({"n": 6})
    assert params_hash({"n": 5.5}) != params_hash({"n": 5})


def test_it_is_a_sha256_hex_digest():
    assert len(params_hash({})) == 64
    assert canonical_json({"b": 1, "a": [1.0, 2.5]}) == '{"a":[1,2.5],"b":1}'


def test_it_refuses_nan():
    with pytest.raises(ValueError):
        params_hash({"x": float("nan")})
