"""Opening a store for reading in one round trip (docs/performance.md, "Streaming").

The write-in-progress marker, the root documents of both layouts that can decide the layout and
the consolidated metadata are fetched in one concurrent batch (one round trip on a remote store);
the layout is then detected from those answers without probing again, and the marker is parsed
from the same answer (it is looked up once per open).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..storage._atomic import WRITE_MARKER_KEY
from ..zarr_bridge import store_io

__all__ = ["RootFetch", "fetch_root", "parse_write_marker", "root_keys", "UNFETCHED",
           "OpenedStore"]

#: A marker value meaning "not fetched" (``backend.check_complete`` then reads the store).
UNFETCHED: object = object()
#: What ``NWBZarrIO`` hands to ``ZarrIO.open``: (store, location, parsed root documents,
#: :class:`RootFetch`).
OpenedStore = tuple

#: Root keys fetched on opening in mode ``r`` (consolidated metadata read) and in the other
#: reading modes (``r-``, ``r+``, ``a``: the L2 root documents themselves).
_KEYS_CONSOLIDATED = (WRITE_MARKER_KEY, "zarr.json", ".zmetadata", ".zgroup")
_KEYS_PLAIN = (WRITE_MARKER_KEY, "zarr.json", ".zgroup", ".zattrs")


def root_keys(mode: str) -> tuple[str, ...]:
    """The store keys fetched together when opening in ``mode`` (FORMAT.md 4: ``zarr.json``
    decides L3; ``.zmetadata`` or ``.zgroup`` L2; ``.zgroup`` next to ``zarr.json`` is warned
    about, so it is asked for in the same batch instead of probed afterwards)."""
    return _KEYS_CONSOLIDATED if mode == "r" else _KEYS_PLAIN


def parse_write_marker(raw: bytes | None) -> dict | None:
    """The content of a write-in-progress marker from its fetched bytes (the variant of
    ``storage._atomic.read_write_marker`` for bytes fetched in the opening batch).

    Parameters
    ----------
    raw : bytes or None
        The bytes stored at ``storage._atomic.WRITE_MARKER_KEY``; None when absent.

    Returns
    -------
    dict or None
        None when there is no marker; ``{}`` for a marker that does not parse (its presence
        is what counts), else its JSON object.
    """
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class RootFetch:
    """What the opening batch found.

    Attributes
    ----------
    marker : dict or None
        The parsed write-in-progress marker (see :func:`parse_write_marker`).
    raw : dict
        Store key -> bytes (None: absent) of every root key fetched; handed to
        ``read.builders.detect_layout`` so that it asks the store only for what is missing.
    chunks : dict
        Store key -> bytes (None: absent) of chunks fetched for ``read()`` while the cached
        specifications were loaded (``read.early``); the reader reads them from memory.
    """

    marker: dict | None
    raw: dict = field(default_factory=dict)
    chunks: dict = field(default_factory=dict)


def fetch_root(store, mode: str) -> RootFetch:
    """Fetch the marker and the root documents of ``store`` in one concurrent batch.

    Parameters
    ----------
    store : zarr.abc.store.Store
    mode : str
        The reading mode (see :func:`root_keys`).
    """
    raw = store_io.get_many(store, root_keys(mode))
    marker = parse_write_marker(raw.pop(WRITE_MARKER_KEY))
    return RootFetch(marker, raw)
