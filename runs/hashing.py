"""Canonical hashing of parameters: the key of result caches and of run identity.

Two parameter sets that mean the same thing hash the same: key order does not
matter and 5 and 5.0 are one number. No Django import, so engines can use it.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def canonicalize(value: Any) -> Any:
    """Return a JSON-ready structure in which equal parameters are equal values."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("parameters may not contain NaN or infinity")
        # An integral float is spelled as the integer so 5.0 and 5 hash the same.
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(k): canonicalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonicalize(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return canonicalize(value.item())
    raise TypeError(f"cannot hash a parameter of type {type(value).__name__}")


def canonical_json(params: dict[str, Any]) -> str:
    return json.dumps(canonicalize(params), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def params_hash(params: dict[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of the parameters."""
    return hashlib.sha256(canonical_json(params).encode("utf-8")).hexdigest()
