"""``H5NestedStore``: a nested directory store whose array chunks are grouped in HDF5 files.

The layout rules (which chunks share a container, container and member names) are in
:mod:`hdmf_zarr.storage._chunkkeys`. Inside a container ``<array>/c/<i>.h5shard`` every chunk is
a 1-D ``uint8`` dataset, contiguous and uncompressed (Zarr's codecs already compressed it), named
by its remaining indices (``0/1`` is dataset ``1`` in group ``0``). A byte range reads only the
selected bytes of the dataset. Containers are created with HDF5's persistent free-space
tracking, so rewritten chunks reuse the space of their old versions.

h5py runs in worker threads (the async methods use ``asyncio.to_thread``) and every container is
locked while in use (shared for reading, exclusive for writing; see ``_locks.file_lock``), so
threads and processes may write different chunks of one container at the same time. HDF5's own
file locking is turned off in favour of these locks.
"""

from __future__ import annotations

from collections.abc import Iterable

import h5py
import numpy as np
from zarr.abc.store import ByteRequest

from ..errors import FormatError
from ..format import limits
from ._chunkkeys import resolve_byte_range
from ._nested import NestedContainerStore

__all__ = ["H5NestedStore"]

_CREATE_OPTIONS = {"libver": ("v110", "latest"), "fs_strategy": "fsm", "fs_persist": True}


class H5NestedStore(NestedContainerStore):
    """A Zarr-Python 3 store: a nested directory whose chunks live in HDF5 container files.

    Listing, reading and writing present the keys of a plain nested directory store; metadata
    documents (``zarr.json``, ``.zarray``, ``.zattrs``, ``.zgroup``, ``.zmetadata``) are loose
    files and an array's chunks are grouped, by their first ``consolidate_depth`` indices, into
    ``<array>/c.h5shard`` (depth 0) or ``<array>/c/<i>[/<j>...].h5shard``.

    Parameters
    ----------
    root : str or os.PathLike
        Directory of the store (created on first write unless ``read_only``).
    consolidate_depth : int, optional
        Number of leading chunk indices that pick an array's container (default 1; clamped to
        ``ndim - 1``, so a container holds at least a row of chunks; 0 = one container per
        array).
    write_direct : bool, optional
        True (default): write chunks straight into containers. False: write loose chunk files
        like a plain nested directory store, to be turned into containers by
        :meth:`consolidate`. Containers are read either way.
    read_only : bool, optional
        Refuse writes.

    Raises
    ------
    NotHdmfStoreError
        When ``root`` exists and is not a directory, or (on first use of an array) when the
        directory holds zip containers of a :class:`ZipNestedStore`.
    ValueError
        When ``consolidate_depth`` is negative.
    TypeError
        When ``root`` is not a path, or ``consolidate_depth`` not an int.
    FormatError
        (from reads and writes) When a container is not a readable HDF5 file (truncated, or some
        other file); the message names the container. Other containers stay readable.

    Examples
    --------
    >>> store = H5NestedStore("session.nwb.zarr", consolidate_depth=0)
    >>> with NWBZarrIO(store, mode="w") as io:  # doctest: +SKIP
    ...     io.write(nwbfile)
    """

    suffix = ".h5shard"
    container_kind = "HDF5"

    def _open_h5(self, path: str, mode: str) -> h5py.File:
        try:
            if mode == "w":
                return h5py.File(path, "w", locking=False, **_CREATE_OPTIONS)
            return h5py.File(path, mode, locking=False)
        except OSError as exc:
            if mode == "w":
                raise
            raise FormatError(f"not a readable HDF5 container ({exc})", path) from None

    @staticmethod
    def _dataset(f: h5py.File, member: str, path: str) -> h5py.Dataset | None:
        """The dataset of ``member``, None when absent.

        Only a plain dataset stored in the container itself is accepted: every component of
        ``member`` must be a hard link (HDF5 soft and external links are refused), and the
        dataset must be neither virtual nor stored in external raw files, so that a forged
        container cannot make a "chunk" read bytes of another file (FORMAT.md 5).
        """
        node = f
        parts = member.split("/")
        for depth, part in enumerate(parts):
            try:
                link = node.get(part, getlink=True)
            except (KeyError, ValueError):
                return None
            if link is None:
                return None
            if not isinstance(link, h5py.HardLink):
                raise FormatError(f"member {member!r} goes through an HDF5 "
                                  f"{type(link).__name__}; containers hold only datasets stored "
                                  "in them", path)
            node = node.get(part)
            if depth < len(parts) - 1 and not isinstance(node, h5py.Group):
                return None
        obj = node
        if obj is None or isinstance(obj, h5py.Group):
            return None
        if not isinstance(obj, h5py.Dataset) or obj.ndim != 1 or obj.dtype != np.uint8:
            raise FormatError(f"member {member!r} is not a 1-D uint8 dataset", path)
        if obj.is_virtual:
            raise FormatError(f"member {member!r} is a virtual dataset (data of other files); "
                              "containers hold only datasets stored in them", path)
        if obj.id.get_create_plist().get_external_count() > 0:
            raise FormatError(f"member {member!r} is stored in external raw files; containers "
                              "hold only datasets stored in them", path)
        return obj

    def _c_read(self, path: str, member: str, byte_range: ByteRequest | None) -> bytes | None:
        with self._open_h5(path, "r") as f:
            try:
                ds = self._dataset(f, member, path)
                if ds is None:
                    return None
                start, stop = resolve_byte_range(ds.shape[0], byte_range)
                if stop <= start:
                    return b""
                if stop - start > limits.MAX_MEMBER_BYTES:
                    raise FormatError(f"member {member!r} of {stop - start} bytes exceeds the "
                                      f"limit of {limits.MAX_MEMBER_BYTES} bytes", path)
                return ds[start:stop].tobytes()
            except OSError as exc:
                raise FormatError(f"cannot read member {member!r} ({exc})", path) from None

    def _c_size(self, path: str, member: str) -> int | None:
        with self._open_h5(path, "r") as f:
            ds = self._dataset(f, member, path)
            return None if ds is None else int(ds.shape[0])

    def _c_members(self, path: str) -> list[str]:
        names: list[str] = []

        def visit(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                names.append(name)

        with self._open_h5(path, "r") as f:
            try:
                f.visititems(visit)
            except (OSError, RuntimeError) as exc:
                raise FormatError(f"cannot list the container ({exc})", path) from None
        return names

    def _c_write(self, path: str, items: Iterable[tuple[str, bytes]], fresh: bool) -> None:
        with self._open_h5(path, "w" if fresh else "r+") as f:
            for member, data in items:
                arr = np.frombuffer(data, dtype=np.uint8)
                current = f.get(member)
                if isinstance(current, h5py.Dataset) and current.shape == arr.shape:
                    if arr.size:
                        current[...] = arr
                    continue
                if current is not None:
                    del f[member]
                f.create_dataset(member, data=arr)

    def _c_delete(self, path: str, members: set[str]) -> int:
        with self._open_h5(path, "r+") as f:
            for member in members:
                if f.get(member) is None:
                    continue
                del f[member]
                parent = member.rsplit("/", 1)[0] if "/" in member else ""
                while parent:  # drop the groups the member leaves empty
                    if len(f[parent]):
                        break
                    del f[parent]
                    parent = parent.rsplit("/", 1)[0] if "/" in parent else ""
            return len(f)
