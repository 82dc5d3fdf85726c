"""Whether a Zarr store is open, and opening one that opens lazily.

Zarr-Python 3 stores open on their first read or write (``Store._ensure_open``); a
``ZipStore`` constructed in read mode is not open yet, and ``list_prefix`` on it fails until it
is. Zarr keeps that state in the private attribute ``Store._is_open`` and opens with the
private coroutine ``Store._ensure_open()``; :func:`ensure_open` is the one place hdmf_zarr
relies on them, and ``tests/zarr_bridge/test_store_state.py`` checks both against the installed
Zarr.
"""

from __future__ import annotations

from typing import Any

from .runtime import run

__all__ = ["is_open", "ensure_open"]


def is_open(store: Any) -> bool:
    """True when ``store`` (a ``zarr.abc.store.Store``) is open; stores without the flag
    (wrappers, other implementations) count as open."""
    return bool(getattr(store, "_is_open", True))


def ensure_open(store: Any) -> None:
    """Open ``store`` when it is not open yet (a lazily opened ``ZipStore``); no-op otherwise.

    Raises
    ------
    Exception
        Whatever the store raises while opening (a missing zip file...).
    """
    if not is_open(store):
        run(store._ensure_open())
