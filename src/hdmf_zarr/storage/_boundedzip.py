"""A read-only zip store with the two guarantees of FORMAT.md 5 that Zarr's ``ZipStore`` lacks:

- a corrupt or garbage zip file is a :class:`~hdmf_zarr.errors.FormatError` naming the file
  (``zipfile.BadZipFile`` escaped before, also from ``hdmf-zarr info``);
- a member is read only when its size (the uncompressed size of the central directory, which
  ``zipfile`` also enforces while inflating) is within ``limits.MAX_MEMBER_BYTES``, so that a
  deflated member cannot expand to gigabytes in memory; errors met while inflating a member
  are a ``FormatError`` naming the file and the member.

It is a :class:`~hdmf_zarr.storage._threaded.ThreadedStore` over :mod:`zipfile` (reads run in
worker threads, one at a time per store, as in Zarr's ``ZipStore``), so it relies on no
internals of Zarr's ``ZipStore``. Keys, listings and byte ranges are those of ``ZipStore``
(``tests/storage/test_boundedzip.py`` compares the two on one file).
"""

from __future__ import annotations

import builtins
import os
import threading
import zipfile
import zlib
from typing import Any

from zarr.abc.store import ByteRequest

from ..errors import FormatError
from ..format import limits
from ._files import read_range
from ._threaded import ThreadedStore

__all__ = ["BoundedZipStore"]

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
               NotImplementedError, RuntimeError)


class BoundedZipStore(ThreadedStore):
    """A read-only Zarr-Python 3 store on a zip file that bounds member reads and names the file
    in its errors (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The zip file. It is opened on first use (``BoundedZipStore.open(path)`` opens it at
        once).

    Raises
    ------
    FormatError
        (on opening) When the file is not a readable zip archive; (on reads) when a member is
        larger than ``limits.MAX_MEMBER_BYTES`` or cannot be inflated.
    FileNotFoundError, PermissionError
        (on opening) When the file cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(read_only=True)
        self.path = os.path.abspath(os.fspath(path))
        self._zf: zipfile.ZipFile | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ identity
    @property
    def supports_deletes(self) -> bool:
        """False: a zip archive is written once."""
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoundedZipStore) and other.path == self.path

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path))

    def __repr__(self) -> str:
        return f"BoundedZipStore({self.path!r})"

    def __str__(self) -> str:
        return f"zip://{self.path}"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        BoundedZipStore.__init__(self, state["path"])

    def with_read_only(self, read_only: bool = False) -> BoundedZipStore:
        """A new (unopened) store on the same file.

        Raises
        ------
        ValueError
            When ``read_only`` is False: this store only reads.
        """
        if not read_only:
            raise ValueError("BoundedZipStore is read-only")
        return BoundedZipStore(self.path)

    def close(self) -> None:
        """Close the zip file (the store reopens it on its next use)."""
        super().close()
        with self._lock:
            if self._zf is not None:
                self._zf.close()
                self._zf = None

    # ------------------------------------------------------------------ ThreadedStore primitives
    @property
    def _location(self) -> str:
        return self.path

    def _prepare(self) -> None:
        with self._lock:
            if self._zf is not None:
                return
            try:
                self._zf = zipfile.ZipFile(self.path, "r")
            except (*_ZIP_ERRORS, ValueError, OSError) as exc:
                if isinstance(exc, (FileNotFoundError, PermissionError)):
                    raise
                raise FormatError(f"not a readable zip file ({type(exc).__name__}: {exc})",
                                  self.path) from None

    def _archive(self) -> zipfile.ZipFile:
        """The open archive (call with ``_lock`` held)."""
        if self._zf is None:  # closed, then used again
            self._zf = zipfile.ZipFile(self.path, "r")
        return self._zf

    def _read_sync(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        with self._lock:
            zf = self._archive()
            try:
                info = zf.getinfo(key)
            except KeyError:
                return None
            if info.file_size > limits.MAX_MEMBER_BYTES and byte_range is None:
                raise FormatError(f"zip member {key!r} of {info.file_size} bytes exceeds the "
                                  f"limit of {limits.MAX_MEMBER_BYTES} bytes (hdmf_zarr.format."
                                  "limits.MAX_MEMBER_BYTES)", self.path)
            try:
                with zf.open(info) as member:
                    return read_range(member, byte_range)
            except _ZIP_ERRORS as exc:
                raise FormatError(f"cannot read zip member {key!r} ({type(exc).__name__}: "
                                  f"{exc})", self.path) from None

    def _size_sync(self, key: str) -> int | None:
        with self._lock:
            try:
                return self._archive().getinfo(key).file_size
            except KeyError:
                return None

    def _names(self) -> builtins.list[str]:
        with self._lock:
            return self._archive().namelist()

    def _list_prefix_sync(self, prefix: str) -> builtins.list[str]:
        return sorted({name for name in self._names() if name.startswith(prefix)})

    def _list_dir_sync(self, prefix: str) -> builtins.list[str]:
        prefix = prefix.rstrip("/")
        names = self._names()
        if not prefix:
            return sorted({name.split("/")[0] for name in names})
        head = prefix + "/"
        return sorted({name[len(head):].split("/")[0] for name in names
                       if name.startswith(head) and name.strip("/") != prefix})
