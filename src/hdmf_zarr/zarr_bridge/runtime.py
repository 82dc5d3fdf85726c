"""The parts of Zarr-Python's runtime that hdmf_zarr relies on, named in one place.

Zarr 3 keeps its event loop and its buffer classes under ``zarr.core``, which is not a stable
API: names move between minor releases. Every module of hdmf_zarr outside ``zarr_bridge`` takes
them from here, and ``tests/zarr_bridge/test_runtime.py`` checks each assumption against the
installed Zarr, so that a Zarr release that breaks one fails that test, not a user's read.

What we rely on
---------------
* ``run(coro)`` runs a coroutine on Zarr's own event loop thread and returns its result (or
  raises its exception). Store coroutines must run there: Zarr's stores bind their sessions and
  locks to that loop.
* ``Buffer``/``BufferPrototype`` are the classes a :class:`zarr.abc.store.Store` receives and
  returns; ``default_buffer_prototype()`` gives the CPU prototype Zarr's own stores use, with
  ``prototype.buffer.from_bytes(b)`` building a buffer and ``buf.to_bytes()`` reading one.
* ``DataTypeValidationError`` is what a Zarr data type raises for a document that is not its
  own: ``zarr.errors`` on Zarr >= 3.2 (``zarr.core.dtype.common`` there is deprecated),
  ``zarr.core.dtype.common`` on 3.1.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
from zarr.core.sync import sync as _zarr_sync

try:
    from zarr.errors import DataTypeValidationError  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # Zarr 3.1
    from zarr.core.dtype.common import DataTypeValidationError

__all__ = ["Buffer", "BufferPrototype", "default_buffer_prototype", "run", "to_buffer",
           "DataTypeValidationError"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on Zarr's event loop thread and return its result.

    Parameters
    ----------
    coro : coroutine
        A coroutine that may await store methods.
    timeout : float, optional
        Seconds to wait; None waits as long as Zarr's ``async.timeout`` config allows.

    Raises
    ------
    Exception
        Whatever the coroutine raises; ``TimeoutError`` when ``timeout`` passes first.
    """
    return _zarr_sync(coro, timeout=timeout)


def to_buffer(data: bytes, prototype: BufferPrototype | None = None) -> Buffer:
    """A Zarr buffer holding ``data`` (bytes-like), built with ``prototype`` (default: CPU)."""
    proto = prototype if prototype is not None else default_buffer_prototype()
    return proto.buffer.from_bytes(data)
