"""numcodecs codecs made once per configuration.

The one-chunk fast paths (``read.scalars`` reading, ``zarr_bridge.small_arrays`` writing) need a
codec for every array they touch, usually the same few configurations thousands of times;
``numcodecs.get_codec`` builds a new object each call.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numcodecs

__all__ = ["numcodecs_codec"]


def numcodecs_codec(config: dict):
    """The numcodecs codec of a Zarr 2 codec configuration (``{"id": "zstd", "level": 3}``),
    shared between calls with an equal configuration.

    Raises
    ------
    ValueError, TypeError
        As ``numcodecs.get_codec`` for an unknown id or bad parameters (or a configuration that
        is not JSON).
    """
    return _cached(json.dumps(config, sort_keys=True))


@lru_cache(maxsize=256)
def _cached(config: str):
    return numcodecs.get_codec(json.loads(config))
