"""Settings of the simulations app, read when used so that tests can override them.

Constants here are part of the result format: changing one changes the bytes a
simulation produces, so each of them is part of the cache key.
"""
from __future__ import annotations

from django.conf import settings

#: Bumped whenever the engine or the result layout changes what a simulation
#: produces for the same parameters; old cache entries then stop matching.
ENGINE_VERSION = "2"

#: Positions and explain tables are stored in parts of this many rows (the last
#: part is shorter). A part is the unit of chunked work; fixing its size keeps
#: the results independent of how many workers computed them. 2**20 rows is
#: four Parquet row groups and keeps runs of up to a million positions in one file.
PART_ROWS = 1 << 20

MIN_POSITIONS = 100
#: A run draws and weighs its book one block (2**20 rows) at a time, so its memory
#: does not grow with the book (about 1 GiB per process at 10,000,000 positions);
#: this bounds the time one run holds a worker and the disk its results take
#: (about 30 MB per million positions).
MAX_POSITIONS = 20_000_000


def chunk_size() -> int:
    """Runs with more positions than this fan out to workers in chunks of whole parts."""
    return int(getattr(settings, "SIMULATION_CHUNK_SIZE", PART_ROWS))


def upload_max_bytes() -> int:
    """Largest positions file the compute page and API accept."""
    return int(getattr(settings, "SIMULATION_UPLOAD_MAX_BYTES", 512 * 1024 * 1024))


def compute_max_positions() -> int:
    """Most positions the compute page and API take in one request (their memory grows with it)."""
    return int(getattr(settings, "SIMULATION_COMPUTE_MAX_POSITIONS", PART_ROWS))
