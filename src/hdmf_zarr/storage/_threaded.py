"""The async Store API of our file-backed stores, on top of blocking primitives (DESIGN.md:
storage/).

:class:`ThreadedStore` is the common base of :class:`~hdmf_zarr.storage.SQLiteStore` and of the
nested container stores (:class:`~hdmf_zarr.storage.H5NestedStore`,
:class:`~hdmf_zarr.storage.ZipNestedStore`). Their work is blocking I/O (files, h5py, zipfile,
sqlite3), so every async method of ``zarr.abc.store.Store`` runs the matching primitive in a
worker thread (``asyncio.to_thread``) and never blocks the event loop; the sync API
(``get_sync``, ``set_sync``, ``delete_sync``) calls the primitives directly.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, Store

from ..errors import StoreModeError
from ..zarr_bridge.runtime import Buffer, BufferPrototype
from ._chunkkeys import _READ_ONLY_MESSAGE, as_buffer, check_byte_range

__all__ = ["ThreadedStore"]


class ThreadedStore(Store):
    """A Zarr-Python 3 store whose operations are blocking primitives run in a worker thread.

    Subclasses implement the primitives, each safe to call from any thread:

    ``_prepare()``
        Check (and create, when writable) the backing file or directory; called once, on first
        use. Raises ``NotHdmfStoreError`` when it is not a store of this kind.
    ``_read_sync(key, byte_range) -> bytes | None`` and ``_size_sync(key) -> int | None``
        None for an absent key.
    ``_set_sync(items)``
        Store a list of ``(key, bytes)`` pairs (one batch: a transaction or one write per
        container where the store can).
    ``_set_if_absent_sync(key, data)``, ``_delete_sync(keys)``, ``_delete_dir_sync(prefix)``
    ``_list_prefix_sync(prefix) -> list[str]``, ``_list_dir_sync(prefix) -> list[str]``

    and the property ``_location`` (the path that errors name). ``_nothing_stored()`` may say
    that there is nothing yet to list or delete, without creating anything.
    """

    # ------------------------------------------------------------------ subclass hooks
    @property
    def _location(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _prepare(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _read_sync(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def _size_sync(self, key: str) -> int | None:
        raise NotImplementedError  # pragma: no cover

    def _set_sync(self, items: builtins.list[tuple[str, bytes]]) -> None:
        raise NotImplementedError  # pragma: no cover

    def _set_if_absent_sync(self, key: str, data: bytes) -> None:
        raise NotImplementedError  # pragma: no cover

    def _delete_sync(self, keys: Iterable[str]) -> None:
        raise NotImplementedError  # pragma: no cover

    def _delete_dir_sync(self, prefix: str) -> None:
        raise NotImplementedError  # pragma: no cover

    def _list_prefix_sync(self, prefix: str) -> builtins.list[str]:
        raise NotImplementedError  # pragma: no cover

    def _list_dir_sync(self, prefix: str) -> builtins.list[str]:
        raise NotImplementedError  # pragma: no cover

    def _nothing_stored(self) -> bool:
        """True when listing and ``delete_dir`` have nothing to see (the store does not exist
        yet); they then return without opening (and so creating) it."""
        return False

    # ------------------------------------------------------------------ capabilities
    @property
    def supports_writes(self) -> bool:
        """True: the store can be written (unless opened read-only)."""
        return True

    @property
    def supports_deletes(self) -> bool:
        """True: keys can be deleted."""
        return True

    @property
    def supports_listing(self) -> bool:
        """True: keys can be listed."""
        return True

    # ------------------------------------------------------------------ open
    async def _open(self) -> None:
        if self._is_open:
            raise ValueError("store is already open")
        self._prepare()
        self._is_open = True

    def _ensure_open_sync(self) -> None:
        if not self._is_open:
            self._prepare()
            self._is_open = True

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreModeError(_READ_ONLY_MESSAGE, self._location)

    # ------------------------------------------------------------------ async API
    async def get(self, key: str, prototype: BufferPrototype | None = None,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        """Value of ``key`` (or the bytes ``byte_range`` selects); None when absent.

        Raises
        ------
        TypeError
            For an unknown ``byte_range`` type.
        FormatError
            When what holds the key is damaged (a corrupt container or database).
        """
        check_byte_range(byte_range)
        await self._ensure_open()
        data = await asyncio.to_thread(self._read_sync, key, byte_range)
        return as_buffer(data, prototype)

    async def get_partial_values(self, prototype: BufferPrototype,
                                 key_ranges: Iterable[tuple[str, ByteRequest | None]]
                                 ) -> list[Buffer | None]:
        """Values (or byte ranges) of several keys, in order; None for absent keys."""
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key: str) -> bool:
        """True when ``key`` is stored."""
        await self._ensure_open()
        return await asyncio.to_thread(self._size_sync, key) is not None

    async def getsize(self, key: str) -> int:
        """Size of the value of ``key`` in bytes.

        Raises
        ------
        FileNotFoundError
            When the key is absent.
        """
        await self._ensure_open()
        size = await asyncio.to_thread(self._size_sync, key)
        if size is None:
            raise FileNotFoundError(key)
        return size

    async def set(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key``.

        Raises
        ------
        StoreModeError
            When the store is read-only (also a ``ValueError``), or a write waits for another
            writer longer than ``LOCK_TIMEOUT`` seconds.
        TypeError
            When ``value`` is not a Zarr ``Buffer``.
        ValueError
            For a key the store cannot hold (nested stores: empty, ``.`` or ``..`` components,
            a reserved container name).
        """
        self._check_writable()
        if not isinstance(value, Buffer):
            raise TypeError(f"{type(self).__name__}.set(): `value` must be a Buffer instance. "
                            f"Got an instance of {type(value)} instead.")
        await self._write_op(self._set_sync, [(key, value.to_bytes())])

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        self._check_writable()
        await self._write_op(self._set_sync, [(k, v.to_bytes()) for k, v in values])

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key`` unless the key is already stored.

        Raises
        ------
        StoreModeError
            When the store is read-only.
        """
        await self._write_op(self._set_if_absent_sync, key, value.to_bytes())

    async def delete(self, key: str) -> None:
        """Remove ``key`` (absent keys are ignored).

        Raises
        ------
        StoreModeError
            When the store is read-only.
        """
        await self._write_op(self._delete_sync, [key])

    async def delete_dir(self, prefix: str) -> None:
        """Remove every key below ``prefix`` (``""``: everything).

        Raises
        ------
        StoreModeError
            When the store is read-only.
        """
        self._check_writable()
        if not self._nothing_stored():
            await self._write_op(self._delete_dir_sync, prefix)

    async def _write_op(self, fn: Callable[..., object], *args: Any) -> None:
        """``fn(*args)`` in a worker thread, on an open, writable store."""
        self._check_writable()
        await self._ensure_open()
        await asyncio.to_thread(fn, *args)

    async def list(self) -> AsyncIterator[str]:
        """Every key of the store."""
        for key in await self._listing(self._list_prefix_sync, ""):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        """Every key starting with ``prefix``."""
        for key in await self._listing(self._list_prefix_sync, prefix):
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        """Names of the keys and sub-prefixes directly below ``prefix``."""
        for key in await self._listing(self._list_dir_sync, prefix):
            yield key

    async def _listing(self, fn: Callable[[str], builtins.list[str]],
                       prefix: str) -> builtins.list[str]:
        if self._nothing_stored():
            return []
        await self._ensure_open()
        return await asyncio.to_thread(fn, prefix)

    # ------------------------------------------------------------------ sync API
    def get_sync(self, key: str, *, prototype: BufferPrototype | None = None,
                 byte_range: ByteRequest | None = None) -> Buffer | None:
        """Blocking :meth:`get`."""
        check_byte_range(byte_range)
        self._ensure_open_sync()
        return as_buffer(self._read_sync(key, byte_range), prototype)

    def set_sync(self, key: str, value: Buffer) -> None:
        """Blocking :meth:`set`."""
        self._check_writable()
        self._ensure_open_sync()
        self._set_sync([(key, value.to_bytes())])

    def delete_sync(self, key: str) -> None:
        """Blocking :meth:`delete`."""
        self._check_writable()
        self._ensure_open_sync()
        self._delete_sync([key])
