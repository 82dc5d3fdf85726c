"""``ZipNestedStore``: a nested directory store whose array chunks are grouped in zip files.

The layout rules are those of :class:`~hdmf_zarr.storage.H5NestedStore` (see
:mod:`hdmf_zarr.storage._chunkkeys`), with containers ``<array>/c[/<i>...].zipshard``: zip
archives whose members are stored uncompressed (Zarr's codecs compress), with a fixed
timestamp, so that a container depends only on its members and the order they were written.

Zip archives are written once per member. What happens on each kind of write:

* a **new** key is appended to its container in place (under the container's exclusive lock);
* a key the container **already holds** is replaced by rewriting the container: a new archive
  is built beside it (``<container>.rewrite``), synced, and moved over the old one with
  ``os.replace``, so that readers see either the old or the new container, never a mix;
* **deleting** keys rewrites the container the same way (or removes it when it becomes empty).

Appending in place is not atomic: a crash while appending can leave the container unreadable.
For archival, write a plain directory (``write_direct=False``) and call :meth:`consolidate`,
which builds each container in a temporary file and moves it into place.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterable

from zarr.abc.store import ByteRequest

from ..errors import FormatError
from ..format import limits
from ._chunkkeys import resolve_byte_range
from ._nested import NestedContainerStore

__all__ = ["ZipNestedStore"]

_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               NotImplementedError, ValueError)


def _info(member: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(member, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


class ZipNestedStore(NestedContainerStore):
    """A Zarr-Python 3 store: a nested directory whose chunks live in zip container files.

    The zip counterpart of :class:`H5NestedStore`, meant for archives written once: listing,
    reading and writing present the keys of a plain nested directory store; metadata documents
    are loose files; an array's chunks are grouped by their first ``consolidate_depth`` indices
    into ``<array>/c.zipshard`` (depth 0) or ``<array>/c/<i>[/<j>...].zipshard``. Rewriting a
    key a container already holds rewrites that container atomically (module documentation).

    Parameters
    ----------
    root, consolidate_depth, write_direct, read_only
        As for :class:`H5NestedStore`: the directory, the leading chunk indices that pick a
        container (default 1), chunks straight into containers (default True; False writes
        loose files for :meth:`consolidate`), and refusing writes.

    Raises
    ------
    NotHdmfStoreError, ValueError, TypeError
        As for :class:`H5NestedStore` (here the foreign containers are HDF5 ones).
    FormatError
        (from reads and writes) When a container is not a readable zip archive; the message
        names the container. Other containers stay readable.
    """

    suffix = ".zipshard"
    container_kind = "zip"

    @staticmethod
    def _open_zip(path: str) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(path, "r")
        except _ZIP_ERRORS as exc:
            raise FormatError(f"not a readable zip container ({exc})", path) from None

    def _c_read(self, path: str, member: str, byte_range: ByteRequest | None) -> bytes | None:
        with self._open_zip(path) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                return None
            start, stop = resolve_byte_range(info.file_size, byte_range)
            if stop - start > limits.MAX_MEMBER_BYTES:
                raise FormatError(f"member {member!r} of {stop - start} bytes exceeds the limit "
                                  f"of {limits.MAX_MEMBER_BYTES} bytes", path)
            try:
                with zf.open(info) as fh:
                    if start:
                        fh.seek(start)
                    return fh.read(stop - start) if stop > start else b""
            except _ZIP_ERRORS as exc:
                raise FormatError(f"cannot read member {member!r} ({exc})", path) from None

    def _c_size(self, path: str, member: str) -> int | None:
        with self._open_zip(path) as zf:
            try:
                return zf.getinfo(member).file_size
            except KeyError:
                return None

    def _c_members(self, path: str) -> list[str]:
        with self._open_zip(path) as zf:
            return list(dict.fromkeys(zf.namelist()))

    def _rewrite(self, path: str, replace: dict[str, bytes], drop: set[str]) -> None:
        """Rebuild the container without ``drop`` and with ``replace``, then swap it in."""
        tmp = path + ".rewrite"
        with self._open_zip(path) as src, zipfile.ZipFile(tmp, "w", allowZip64=True) as dst:
            done = set()
            for info in src.infolist():
                name = info.filename
                if name in drop or name in done:
                    continue
                done.add(name)
                if name in replace:
                    dst.writestr(_info(name), replace[name])
                    continue
                try:
                    data = src.read(info)
                except _ZIP_ERRORS as exc:
                    raise FormatError(f"cannot read member {name!r} ({exc})", path) from None
                dst.writestr(_info(name), data)
            for name, data in replace.items():
                if name not in done:
                    dst.writestr(_info(name), data)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def _c_write(self, path: str, items: Iterable[tuple[str, bytes]], fresh: bool) -> None:
        if fresh:
            present: set[str] = set()
        else:
            with self._open_zip(path) as zf:  # also refuses to append to a file that is no zip
                present = set(zf.namelist())
        replace: dict[str, bytes] = {}
        with zipfile.ZipFile(path, "w" if fresh else "a", allowZip64=True) as zf:
            for member, data in items:
                if member in present:
                    replace[member] = data  # zip cannot replace a member: rewrite below
                else:
                    zf.writestr(_info(member), data)
                    present.add(member)
        if replace:
            self._rewrite(path, replace, set())

    def _c_delete(self, path: str, members: set[str]) -> int:
        with self._open_zip(path) as zf:
            names = set(zf.namelist())
        if not names & members:
            return len(names)
        remaining = names - members
        if remaining:
            self._rewrite(path, {}, members)
        return len(remaining)
