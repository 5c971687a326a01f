"""Reading positions files and writing frames as deterministic Parquet.

``frame_to_parquet_bytes`` fixes everything that could make two writes of
the same frame differ: compression codec and level, row-group size, format
version, and no index. Parquet and Arrow store no timestamps, so the same
frame gives the same bytes in any run or process with the same pandas and
pyarrow versions (whose names the metadata records), and the SHA-256 of those
bytes can serve as the frame's checksum.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import PositionsFormatError, validate_positions

PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
PARQUET_ROW_GROUP_SIZE = 262_144
PARQUET_VERSION = "2.6"

Source = str | os.PathLike[str] | bytes | BinaryIO


def frame_to_parquet_bytes(df: pd.DataFrame) -> bytes:
    """Serialise ``df`` (without its index) to Parquet, deterministically."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
        row_group_size=PARQUET_ROW_GROUP_SIZE,
        version=PARQUET_VERSION,
        use_dictionary=True,
        write_statistics=True,
    )
    return sink.getvalue()


def parquet_bytes_to_frame(data: bytes) -> pd.DataFrame:
    """Read back what :func:`frame_to_parquet_bytes` wrote."""
    return pq.read_table(io.BytesIO(data)).to_pandas()


def _open(source: Source) -> BinaryIO | str | os.PathLike[str]:
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source


def read_positions_file(path_or_bytes: Source, format: Literal["csv", "parquet"]) -> pd.DataFrame:
    """Read a positions file and return it validated and canonical.

    CSV files have a header row; only empty cells are missing values (so a
    text such as "NA" is read as written), and ``position_id`` is read as
    text so leading zeros survive. Raises :class:`PositionsFormatError` for an
    unreadable file as well as for content that breaks the format.
    """
    if format == "csv":
        try:
            frame = pd.read_csv(
                _open(path_or_bytes),
                dtype={"position_id": "str"},
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
            )
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise PositionsFormatError(None, None, f"cannot read the CSV file: {exc}") from None
    elif format == "parquet":
        try:
            frame = pq.read_table(_open(path_or_bytes)).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise PositionsFormatError(None, None, f"cannot read the Parquet file: {exc}") from None
    else:
        raise ValueError(f"format must be 'csv' or 'parquet', got {format!r}")
    return validate_positions(frame)
