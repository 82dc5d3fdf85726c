"""Zarr's ``ZipStore`` for reading, with the two guarantees of FORMAT.md 5 it lacks:

- a corrupt or garbage zip file is a :class:`~hdmf_zarr.errors.FormatError` naming the file
  (``zipfile.BadZipFile`` escaped before, also from ``hdmf-zarr info``);
- a member is read only when its size (the uncompressed size of the central directory, which
  ``zipfile`` also enforces while inflating) is within ``limits.MAX_MEMBER_BYTES``, so that a
  deflated member cannot expand to gigabytes in memory; errors met while inflating a member
  are a ``FormatError`` naming the file and the member.
"""

from __future__ import annotations

import zipfile
import zlib

from zarr.abc.store import ByteRequest
from zarr.storage import ZipStore

from ..errors import FormatError
from ..format import limits
from ..zarr_bridge.runtime import Buffer, BufferPrototype

__all__ = ["BoundedZipStore"]

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
               NotImplementedError, RuntimeError)


class BoundedZipStore(ZipStore):
    """A read-only ``zarr.storage.ZipStore`` that bounds member reads and names the file in
    its errors (see the module docstring)."""

    def _sync_open(self) -> None:
        try:
            super()._sync_open()
        except (*_ZIP_ERRORS, ValueError, OSError) as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError)):
                raise
            raise FormatError(f"not a readable zip file ({type(exc).__name__}: {exc})",
                              str(self.path)) from None

    def _get(self, key: str, prototype: BufferPrototype,
             byte_range: ByteRequest | None = None) -> Buffer | None:
        if not self._is_open:
            self._sync_open()
        try:
            info = self._zf.getinfo(key)
        except KeyError:
            return None
        if info.file_size > limits.MAX_MEMBER_BYTES and byte_range is None:
            raise FormatError(f"zip member {key!r} of {info.file_size} bytes exceeds the limit "
                              f"of {limits.MAX_MEMBER_BYTES} bytes (hdmf_zarr.format.limits."
                              "MAX_MEMBER_BYTES)", str(self.path))
        try:
            return super()._get(key, prototype, byte_range)
        except _ZIP_ERRORS as exc:
            raise FormatError(f"cannot read zip member {key!r} ({type(exc).__name__}: {exc})",
                              str(self.path)) from None
