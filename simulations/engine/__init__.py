"""Runsight simulation engine: a seeded bank balance-sheet simulator and the
Basel III calculators (d424 credit RWA, LCR, NSFR, capital and leverage).

Pure numpy/pandas/pyarrow: no Django, no other app of the project.
"""

from .capital import compute_capital, leverage_exposure
from .config import DEFAULT_CONFIG, SimulationConfig
from .factors import DEFAULT_SETTINGS, RegulatorySettings
from .generate import generate_portfolio
from .io import frame_to_parquet_bytes, parquet_bytes_to_frame, read_positions_file
from .lcr import compute_lcr
from .metrics import EXPLAIN_COLUMNS, MetricsResult, compute_metrics
from .nsfr import compute_nsfr
from .rwa import EXPOSURE_CLASSES, compute_rwa
from .schema import (
    COLUMN_NAMES,
    PRODUCT_CODES,
    CapitalFormatError,
    CapitalStack,
    EngineInputError,
    PositionsFormatError,
    validate_capital,
    validate_positions,
)

__all__ = [
    "COLUMN_NAMES",
    "DEFAULT_CONFIG",
    "DEFAULT_SETTINGS",
    "EXPLAIN_COLUMNS",
    "EXPOSURE_CLASSES",
    "PRODUCT_CODES",
    "CapitalFormatError",
    "CapitalStack",
    "EngineInputError",
    "MetricsResult",
    "PositionsFormatError",
    "RegulatorySettings",
    "SimulationConfig",
    "compute_capital",
    "compute_lcr",
    "compute_metrics",
    "compute_nsfr",
    "compute_rwa",
    "frame_to_parquet_bytes",
    "generate_portfolio",
    "leverage_exposure",
    "parquet_bytes_to_frame",
    "read_positions_file",
    "validate_capital",
    "validate_positions",
]
