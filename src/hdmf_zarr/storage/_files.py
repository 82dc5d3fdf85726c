"""Local-file primitives of the directory stores: reading a value or a byte range of it, writing
through a temporary name and ``os.replace``, ``fsync``, and removing emptied directories.

Used by :class:`~hdmf_zarr.storage.AtomicLocalStore` (``_atomic``), the nested container stores
(``_nested``) and ``_pack``; one copy of each rule (docs/reliability.md: a reader sees the old or
the new file, never a torn one; a replaced document is synced before the rename).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import IO

from zarr.abc.store import ByteRequest

from ._chunkkeys import resolve_byte_range

__all__ = ["file_size", "fsync_path", "prune_empty_dirs", "read_file", "read_range",
           "replace_file", "write_replace", "write_through_temporary"]


def fsync_path(path: str) -> None:
    """``fsync`` a file or directory (a directory: makes a rename or a new entry durable).

    Ignored where the platform cannot open or sync it (directories on Windows).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def read_range(fh: IO[bytes], byte_range: ByteRequest | None) -> bytes:
    """The bytes of an open binary file that ``byte_range`` selects (None: all of it).

    Parameters
    ----------
    fh : binary file object
        Open for reading, seekable.
    byte_range : RangeByteRequest, OffsetByteRequest, SuffixByteRequest or None
        Resolved as Zarr's stores do (``_chunkkeys.resolve_byte_range``).

    Raises
    ------
    TypeError
        For an unknown ``byte_range`` type.
    """
    if byte_range is None:
        return fh.read()
    size = fh.seek(0, os.SEEK_END)
    start, stop = resolve_byte_range(size, byte_range)
    fh.seek(start)
    return fh.read(stop - start)


def read_file(path: str, byte_range: ByteRequest | None) -> bytes | None:
    """:func:`read_range` of the file at ``path``; None when there is no file there."""
    try:
        with open(path, "rb") as fh:
            return read_range(fh, byte_range)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def file_size(path: str) -> int | None:
    """Size in bytes of the file at ``path``; None when absent or a directory."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return None if os.path.isdir(path) else st.st_size


def write_replace(path: str, data: bytes | bytearray | memoryview, durable: bool) -> None:
    """Write ``data`` (any bytes-like object) to ``path`` through a temporary name in the same
    (existing) directory and ``os.replace``; with ``durable`` the temporary file and the
    directory are fsync-ed.

    Raises
    ------
    OSError
        When the file cannot be written; the temporary file is removed.
    """
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{uuid.uuid4().hex}.partial")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data).cast("B")
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_path(head)


def replace_file(path: Path, data: bytes, durable: bool) -> None:
    """:func:`write_replace`, creating the parent directories first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_replace(str(path), data, durable)


def write_through_temporary(path: str, tmp: str, data: bytes, exclusive: bool = False) -> bool:
    """Write ``data`` to ``tmp`` (making missing directories), then move it to ``path``.

    Parameters
    ----------
    path : str
        The file to write.
    tmp : str
        The temporary file (same directory as ``path``; removed in every case).
    data : bytes
    exclusive : bool, optional
        Leave an existing file at ``path`` alone (``os.link`` instead of ``os.replace``).

    Returns
    -------
    bool
        False when ``exclusive`` and ``path`` already existed, else True.
    """
    for attempt in range(100):
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            break
        except FileNotFoundError:  # a concurrent delete pruned the directory
            if attempt == 99:
                raise
            os.makedirs(os.path.dirname(path), exist_ok=True)
    moved = False
    try:
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        os.replace(tmp, path)
        moved = True
        return True
    finally:
        if not moved:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def prune_empty_dirs(directory: str, root: str) -> None:
    """Remove ``directory`` and its parents strictly inside ``root`` while they are empty."""
    while directory != root and directory.startswith(root + os.sep):
        try:
            os.rmdir(directory)
        except OSError:
            return
        directory = os.path.dirname(directory)
