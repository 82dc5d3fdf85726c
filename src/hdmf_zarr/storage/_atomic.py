"""Atomic metadata documents on local disk (docs/reliability.md).

* :class:`AtomicLocalStore` is Zarr's ``LocalStore`` with one guarantee made explicit and owned
  here rather than left to an implementation detail of a Zarr release: a metadata document
  (``zarr.json``, ``.zarray``, ``.zattrs``, ``.zgroup``, ``.zmetadata``) is written to a
  temporary name in its directory and renamed over the old one with ``os.replace``, so that a
  reader running during a write sees the old or the new document, never a torn one. A document
  that replaces an existing one (a group document rewritten by an append, the consolidated root
  document) is also ``fsync``-ed before the rename: after a power failure the old or the new
  version survives, never an empty file.

The write-in-progress marker is in ``_marker``; its names are re-exported here for the modules
that import them from ``storage._atomic``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Iterable
from pathlib import Path

from zarr.abc.store import ByteRequest
from zarr.storage import LocalStore

from ..zarr_bridge.runtime import Buffer, BufferPrototype, default_buffer_prototype
from ._chunkkeys import METADATA_NAMES, get_many_batched
from ._files import read_range, replace_file, write_replace
from ._keys import check_key, inside_root, open_inside
from ._marker import (
    WRITE_MARKER_KEY,
    begin_write,
    end_write,
    local_root,
    read_write_marker,
)

__all__ = ["AtomicLocalStore", "WRITE_MARKER_KEY", "METADATA_DOCUMENTS", "begin_write",
           "end_write", "read_write_marker", "local_root"]

#: The names of the Zarr metadata documents written atomically.
METADATA_DOCUMENTS = METADATA_NAMES


class AtomicLocalStore(LocalStore):
    """Zarr's ``LocalStore`` writing metadata documents atomically (temporary name, then
    ``os.replace``).

    Parameters
    ----------
    root : str or pathlib.Path
        Directory of the store.
    read_only : bool, optional
        Refuse writes.

    Notes
    -----
    Chunks are written as ``LocalStore`` writes them. Only documents are handled here: readers
    parse them whole, so a torn document would be an error (or worse, a valid prefix), while a
    chunk is only read through a document that names it. A document replacing an existing file
    is fsync-ed before the rename (see the module docstring).

    Every key is checked (``storage._keys``): a key that could leave the root (absolute, ``..``,
    empty components) raises ``FormatError``, and so does a read of a key that resolves outside
    the root (a symbolic link leading out) or to something other than a regular file (a FIFO
    would hang the reader, ``/dev/zero`` would exhaust memory). Writes refuse a key whose
    directory resolves outside the root.
    """

    # ------------------------------------------------------------------ keys inside the root
    def _read_key(self, key: str, byte_range: ByteRequest | None = None) -> bytes | None:
        """The bytes of ``key`` (or of ``byte_range`` of it), None when missing."""
        fd = open_inside(str(self.root), key)
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as fh:
            return read_range(fh, byte_range)

    def _write_path(self, key: str) -> Path:
        """The file of ``key`` for a write; refuses keys and directories leading out."""
        root = str(self.root)
        check_key(key, root)
        path = self.root / key
        parent = str(path.parent)
        if not inside_root(root, parent):
            from ..errors import FormatError

            raise FormatError(f"store key {key!r}: its directory is a symbolic link leading "
                              "outside the store", root)
        if os.path.islink(path) and not inside_root(root, str(path)):
            from ..errors import FormatError

            raise FormatError(f"store key {key!r} is a symbolic link leading outside the "
                              "store", root)
        return path

    async def get(self, key: str, prototype: BufferPrototype | None = None,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        """Read ``key`` (see the class notes for the keys refused)."""
        if prototype is None:
            prototype = default_buffer_prototype()
        if not self._is_open:
            await self._open()
        data = await asyncio.to_thread(self._read_key, key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    def get_sync(self, key: str, *, prototype: BufferPrototype | None = None,
                 byte_range: ByteRequest | None = None) -> Buffer | None:
        """Blocking :meth:`get`."""
        if prototype is None:
            prototype = default_buffer_prototype()
        self._open_sync()
        data = self._read_key(key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def get_partial_values(
            self, prototype: BufferPrototype,
            key_ranges: Iterable[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        """Read several ``(key, byte_range)`` pairs (None for missing keys)."""
        return [await self.get(key, prototype, byte_range) for key, byte_range in key_ranges]

    async def exists(self, key: str) -> bool:
        """True when ``key`` is a regular file inside the root."""
        def probe() -> bool:
            fd = open_inside(str(self.root), key)
            if fd is None:
                return False
            os.close(fd)
            return True

        return await asyncio.to_thread(probe)

    async def getsize(self, key: str) -> int:
        """Size in bytes of ``key`` (``FileNotFoundError`` when missing)."""
        def size() -> int:
            fd = open_inside(str(self.root), key)
            if fd is None:
                raise FileNotFoundError(key)
            try:
                return os.fstat(fd).st_size
            finally:
                os.close(fd)

        return await asyncio.to_thread(size)

    def _open_sync(self) -> None:
        """Open the store from synchronous code: as ``LocalStore._open`` (the root is made
        unless read-only, and must exist)."""
        if not self._is_open:
            if not self.read_only:
                self.root.mkdir(parents=True, exist_ok=True)
            if not self.root.exists():
                raise FileNotFoundError(f"{self.root} does not exist")
            self._is_open = True

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key`` unless the key is already stored."""
        self._write_path(key)
        return await super().set_if_not_exists(key, value)

    async def delete(self, key: str) -> None:
        """Remove ``key`` (a directory key removes the directory)."""
        self._write_path(key)
        return await super().delete(key)

    def delete_sync(self, key: str) -> None:
        """Blocking :meth:`delete`."""
        self._write_path(key)
        return super().delete_sync(key)

    async def delete_dir(self, prefix: str) -> None:
        """Remove every key below ``prefix``."""
        if prefix.rstrip("/"):
            self._write_path(prefix.rstrip("/"))
        return await super().delete_dir(prefix)

    @staticmethod
    def _is_document(key: str) -> bool:
        return key.rpartition("/")[2] in METADATA_DOCUMENTS

    def _put_document(self, key: str, value: Buffer) -> None:
        self._check_writable()
        if not isinstance(value, Buffer):
            raise TypeError(f"AtomicLocalStore.set(): value must be a Buffer, not "
                            f"{type(value).__name__}")
        path = self._write_path(key)
        replace_file(path, value.to_bytes(), durable=path.exists())

    async def set(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key``; metadata documents are replaced atomically."""
        if not self._is_document(key):
            self._write_path(key)
            return await super().set(key, value)
        if not self._is_open:
            await self._open()
        await asyncio.to_thread(self._put_document, key, value)

    def set_sync(self, key: str, value: Buffer) -> None:
        """Blocking :meth:`set`."""
        self._write_path(key)
        if not self._is_document(key):
            return super().set_sync(key, value)
        self._open_sync()
        self._put_document(key, value)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        """Store a batch of keys: every key through a temporary name and ``os.replace`` (as
        ``LocalStore.set`` does), each directory made once, in one thread for the whole batch
        instead of one thread hand-off per key (5000 small documents on tmpfs: 0.6 s through
        ``LocalStore``'s per-key path, 0.15 s here; a second thread gained nothing)."""
        self._check_writable()
        if not self._is_open:
            await self._open()
        items = []
        for key, value in values:
            if not isinstance(value, Buffer):
                raise TypeError(f"AtomicLocalStore.set(): value of {key!r} must be a Buffer, not "
                                f"{type(value).__name__}")
            items.append((key, value))
        await asyncio.to_thread(self._put_batch, items)

    async def _get_many(
            self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        """Zarr's batch read, as ``_chunkkeys.get_many_batched`` describes it (requests and
        results): whole keys read as files in one thread (1000 small chunks on tmpfs in 20 ms
        instead of 170 ms)."""
        if not self._is_open:
            await self._open()
        def read_whole(keys: list[str]) -> dict[str, bytes]:
            found = {}
            for key in keys:
                data = self._read_key(key)
                if data is not None:
                    found[key] = data
            return found

        async for item in get_many_batched(self, requests, read_whole):
            yield item

    def _put_batch(self, items: list[tuple[str, Buffer]]) -> None:
        made: set[str] = set()
        for key, value in items:
            path = str(self._write_path(key))
            parent = os.path.dirname(path)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            durable = self._is_document(key) and os.path.exists(path)
            write_replace(path, value.as_buffer_like(), durable)

    def __repr__(self) -> str:
        return f"AtomicLocalStore('{self.root}')"
