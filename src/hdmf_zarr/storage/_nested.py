"""The base class of the nested container stores (DESIGN.md: storage/).

:class:`NestedContainerStore` holds the directory handling, listing, locking and
:meth:`~NestedContainerStore.consolidate` common to :class:`~hdmf_zarr.storage.H5NestedStore` and
:class:`~hdmf_zarr.storage.ZipNestedStore`; the rules that decide which key goes into which
container are in ``_chunkkeys``. The async Store API around the blocking primitives defined here
is :class:`~hdmf_zarr.storage._threaded.ThreadedStore`.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from zarr.abc.store import ByteRequest

from ..errors import NotHdmfStoreError
from ._chunkkeys import (
    ARRAY_DOCUMENTS,
    CONTAINER_SUFFIXES,
    METADATA_NAMES,
    ArrayKeys,
    candidate_array_prefixes,
    check_byte_range,
    container_array,
    is_reserved_name,
)
from ._files import (
    file_size,
    fsync_path,
    prune_empty_dirs,
    read_file,
    write_through_temporary,
)
from ._locks import BatchQueue, file_lock
from ._nestedkeys import ArrayLookup
from ._threaded import ThreadedStore

__all__ = ["NestedContainerStore"]


_MISSING = object()
_NOWHERE = -1  # "keep" value of _remove_copies: remove every copy
#: ``(key, array, chunk indices, keep)`` of a chunk whose other copies ``_remove_copies`` removes
_Copy = tuple[str, ArrayKeys, tuple[int, ...], int | None]


def _is_empty(fd: int | None) -> bool:
    """True when the locked container file ``fd`` is empty (created for its lock) or absent."""
    return fd is None or os.fstat(fd).st_size == 0


class NestedContainerStore(ArrayLookup, ThreadedStore):
    """Base class of the directory stores whose array chunks live in container files.

    Subclasses set :attr:`suffix` and implement the five ``_c_*`` container operations; this
    class decides where keys live, locks containers, lists logical keys and consolidates.

    Parameters
    ----------
    root, consolidate_depth, write_direct, read_only
        As documented for :class:`~hdmf_zarr.storage.H5NestedStore`, which also lists the
        errors raised.
    """

    #: File name suffix of this store's containers.
    suffix: ClassVar[str] = ""
    #: Name of the container format, for messages.
    container_kind: ClassVar[str] = ""

    def __init__(self, root: str | os.PathLike, *, consolidate_depth: int = 1,
                 write_direct: bool = True, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        if isinstance(root, os.PathLike):
            root = os.fspath(root)
        if not isinstance(root, str):
            raise TypeError(f"root must be a str or os.PathLike, not {type(root).__name__}")
        if isinstance(consolidate_depth, bool) or not isinstance(consolidate_depth, int):
            raise TypeError("consolidate_depth must be an int")
        if consolidate_depth < 0:
            raise ValueError(f"consolidate_depth must be >= 0, not {consolidate_depth}")
        self._root = os.path.abspath(root)
        if os.path.exists(self._root) and not os.path.isdir(self._root):
            raise NotHdmfStoreError(f"not a {type(self).__name__}: a regular file, not a directory",
                                    self._root)
        self._depth = consolidate_depth
        self._write_direct = bool(write_direct)
        self._arrays: dict[str, ArrayKeys] = {}
        self._arrays_lock = threading.Lock()
        self._layout_lock = threading.RLock()
        self._queue = BatchQueue()

    # ------------------------------------------------------------------ identity
    @property
    def root(self) -> str:
        """Absolute path of the store directory."""
        return self._root

    @property
    def consolidate_depth(self) -> int:
        """Leading chunk indices that pick an array's container."""
        return self._depth

    @property
    def write_direct(self) -> bool:
        """True when chunks are written straight into containers."""
        return self._write_direct

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other._root == self._root
                and other._depth == self._depth and other._write_direct == self._write_direct)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._root, self._depth, self._write_direct))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self._root!r}, consolidate_depth={self._depth}, "
                f"write_direct={self._write_direct}, read_only={self.read_only})")

    def __str__(self) -> str:
        return f"file://{self._root}"

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self._root, "consolidate_depth": self._depth,
                "write_direct": self._write_direct, "read_only": self.read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["root"], consolidate_depth=state["consolidate_depth"],
                            write_direct=state["write_direct"], read_only=state["read_only"])

    def with_read_only(self, read_only: bool = False) -> NestedContainerStore:
        """A new (unopened) store on the same directory with the same settings.

        Parameters
        ----------
        read_only : bool, optional
            The read-only flag of the new store.
        """
        return type(self)(self._root, consolidate_depth=self._depth,
                          write_direct=self._write_direct, read_only=read_only)

    # ------------------------------------------------------------------ open (ThreadedStore)
    @property
    def _location(self) -> str:
        return self._root

    def _prepare(self) -> None:
        if os.path.isdir(self._root):
            return
        if os.path.exists(self._root):
            raise NotHdmfStoreError(f"not a {type(self).__name__}: a regular file, not a directory",
                                    self._root)
        if self.read_only:
            raise NotHdmfStoreError("no such directory", self._root)
        os.makedirs(self._root, exist_ok=True)

    def _nothing_stored(self) -> bool:
        return not os.path.isdir(self._root) and (self.read_only or not os.path.exists(self._root))

    # ------------------------------------------------------------------ keys
    @staticmethod
    def _valid_key(key: str) -> bool:
        return (isinstance(key, str) and "\\" not in key and "\x00" not in key
                and not any(p in ("", ".", "..") for p in key.split("/")))

    def _check_key(self, key: str) -> None:
        if not isinstance(key, str):
            raise TypeError(f"keys must be str, not {type(key).__name__}")
        if not self._valid_key(key):
            raise ValueError(f"invalid store key {key!r}")

    def _check_key_for_write(self, key: str) -> None:
        self._check_key(key)
        if is_reserved_name(key.rsplit("/", 1)[-1]):
            raise ValueError(f"{key!r}: names ending in {', '.join(CONTAINER_SUFFIXES)} are "
                             f"reserved for containers in a {type(self).__name__}")

    def _prune(self, directory: str) -> None:
        """Remove ``directory`` and its parents inside the root while they are empty."""
        prune_empty_dirs(directory, self._root)

    # ------------------------------------------------------------------ container operations
    def _c_read(self, path: str, member: str, byte_range: ByteRequest | None) -> bytes | None:
        """Bytes of ``member`` in the (locked, non-empty) container ``path``; None if absent."""
        raise NotImplementedError

    def _c_size(self, path: str, member: str) -> int | None:
        """Size of ``member`` in the container ``path``; None if absent."""
        raise NotImplementedError

    def _c_members(self, path: str) -> list[str]:
        """Member names of the container ``path``."""
        raise NotImplementedError

    def _c_write(self, path: str, items: Iterable[tuple[str, bytes]], fresh: bool) -> None:
        """Write members (replacing present ones) into the container ``path``; ``fresh`` when
        the file is empty and must be initialised."""
        raise NotImplementedError

    def _c_delete(self, path: str, members: set[str]) -> int:
        """Remove members from the container ``path``; return how many members remain."""
        raise NotImplementedError

    def _in_container(self, path: str, op: Callable[..., Any], *args: Any) -> Any:
        """Run ``op(path, *args)`` under a shared lock; _MISSING when there is no container."""
        with file_lock(path, exclusive=False, create=False) as fd:
            if fd is None:
                return _MISSING
            if _is_empty(fd):  # created for its lock, nothing written yet
                return None
            return op(path, *args)

    # ------------------------------------------------------------------ sync core: read
    def _lookup(self, key: str, loose: Callable[[str], Any],
                member_op: Callable[[str, str], Any]) -> Any:
        """Find ``key`` and apply ``loose(abs path)`` or ``member_op(container, member)``."""
        if not self._valid_key(key):
            return None
        found = self._chunk_of(key)
        if found is None:
            return loose(self._abs(key))
        info, idx = found
        for depth in self._places(info, idx):
            if depth is None:
                result = loose(self._abs(key))
            else:
                path, member = self._container(info, idx, depth)
                result = self._in_container(path, member_op, member)
                if result is _MISSING:
                    result = None
            if result is not None:
                return result
        return None

    def _read_sync(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        check_byte_range(byte_range)
        return self._lookup(key, lambda p: read_file(p, byte_range),
                            lambda p, m: self._c_read(p, m, byte_range))

    def _size_sync(self, key: str) -> int | None:
        return self._lookup(key, file_size, self._c_size)

    # ------------------------------------------------------------------ sync core: write
    def _write_loose(self, key: str, data: bytes, exclusive: bool = False) -> bool:
        """Write a loose file atomically (temporary file, then rename or link); with
        ``exclusive`` leave an existing file alone and return False."""
        path = self._abs(key)
        tmp = f"{path}{self.suffix}.partial-{os.getpid()}-{threading.get_ident()}"
        return write_through_temporary(path, tmp, data, exclusive)

    def _commit_container(self, path: str, items: list[tuple[str, bytes]]) -> None:
        with file_lock(path, exclusive=True, create=True) as fd:
            self._c_write(path, items, _is_empty(fd))

    def _delete_members(self, path: str, members: set[str]) -> None:
        with file_lock(path, exclusive=True, create=False) as fd:
            if fd is None:
                return
            remaining = 0 if _is_empty(fd) else self._c_delete(path, members)
            if remaining == 0:
                os.unlink(path)
        if remaining == 0:
            self._prune(os.path.dirname(path))

    def _unlink_loose(self, key: str) -> None:
        path = self._abs(key)
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        except IsADirectoryError:
            return
        self._prune(os.path.dirname(path))

    def _remove_copies(self, pairs: Iterable[_Copy]) -> None:
        """Remove the stored copies of chunks except the one in ``keep`` (a depth, or None for
        the loose file); containers are only opened when they exist."""
        by_container: dict[str, set[str]] = {}
        for key, info, idx, keep in pairs:
            if keep is not None:
                self._unlink_loose(key)
            for depth in range(info.ndim):
                if depth == keep:
                    continue
                path, member = self._container(info, idx, depth)
                if os.path.exists(path):
                    by_container.setdefault(path, set()).add(member)
        for path, members in by_container.items():
            self._delete_members(path, members)

    def _set_sync(self, items: list[tuple[str, bytes]]) -> None:
        self._check_writable()
        groups: dict[str, list[tuple[str, bytes]]] = {}
        cleanup: list[_Copy] = []
        # metadata documents first: chunks sent in the same batch then find their array
        items = sorted(items, key=lambda kv: kv[0].rsplit("/", 1)[-1] not in METADATA_NAMES)
        for key, _data in items:
            self._check_key_for_write(key)
        for key, data in items:
            name = key.rsplit("/", 1)[-1]
            if name in METADATA_NAMES:
                self._write_document(key, name, data)
                continue
            found = self._chunk_of(key)
            if found is None:
                if candidate_array_prefixes(key):
                    # a chunk key whose array document may be arriving in a concurrent call
                    with self._layout_lock:
                        found = self._chunk_of(key)
                        if found is None:
                            self._write_loose(key, data)
                            continue
                else:
                    self._write_loose(key, data)
                    continue
            info, idx = found
            if self._write_direct:
                depth = info.depth(self._depth)
                path, member = self._container(info, idx, depth)
                groups.setdefault(path, []).append((member, data))
                cleanup.append((key, info, idx, depth))
            else:
                self._write_loose(key, data)
                cleanup.append((key, info, idx, None))
        for path, members in groups.items():
            self._queue.submit(path, members, functools.partial(self._commit_container, path))
        self._remove_copies(cleanup)

    def _write_document(self, key: str, name: str, data: bytes) -> None:
        """Write a metadata document; when it creates an array (write-direct), move chunks
        written loose just before it (concurrent calls of one batch) into their containers."""
        prefix = key[: -len(name) - 1] if "/" in key else ""
        with self._layout_lock:
            created = not os.path.exists(self._abs(key))
            self._write_loose(key, data)
            self._forget_arrays(prefix)
            if created and self._write_direct and name in ARRAY_DOCUMENTS:
                info = self._array(prefix)
                if info is not None and info.ndim > 0:
                    self._adopt_loose(info)

    def _adopt_loose(self, info: ArrayKeys) -> None:
        """Move the loose chunk files of the array ``info`` into their containers."""
        groups: dict[str, list[tuple[str, str, str]]] = {}
        base = self._abs(info.prefix)
        for dirpath, _dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, base)
            rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            for name in filenames:
                if is_reserved_name(name) or name in METADATA_NAMES:
                    continue
                idx = info.parse(rel + name)
                if idx is None:
                    continue
                path, member = self._container(info, idx, info.depth(self._depth))
                groups.setdefault(path, []).append((member, os.path.join(dirpath, name),
                                                    info.key(idx)))
        for path, entries in groups.items():
            items = [(member, read_file(src, None)) for member, src, _key in entries]
            self._commit_container(path, [(m, d) for m, d in items if d is not None])
            for _member, _src, key in entries:
                self._unlink_loose(key)

    def _set_if_absent_sync(self, key: str, data: bytes) -> None:
        self._check_writable()
        self._check_key_for_write(key)
        found = self._chunk_of(key)
        if found is None or not self._write_direct:
            if found is not None and self._size_sync(key) is not None:
                return
            self._write_loose(key, data, exclusive=True)
            return
        info, idx = found
        depth = info.depth(self._depth)
        path, member = self._container(info, idx, depth)
        with file_lock(path, exclusive=True, create=True) as fd:
            fresh = _is_empty(fd)
            if not fresh and self._c_size(path, member) is not None:
                return
            if os.path.exists(self._abs(key)):
                return
            for other in range(info.ndim):
                if other != depth:
                    opath, omember = self._container(info, idx, other)
                    size = self._in_container(opath, self._c_size, omember)
                    if size not in (None, _MISSING):
                        return
            self._c_write(path, [(member, data)], fresh)

    def _delete_sync(self, keys: Iterable[str]) -> None:
        self._check_writable()
        pairs = []
        for key in keys:
            self._check_key(key)
            name = key.rsplit("/", 1)[-1]
            if name in METADATA_NAMES:
                self._forget_arrays(key[: -len(name) - 1] if "/" in key else "")
            found = self._chunk_of(key)
            if found is None:
                self._unlink_loose(key)
            else:
                pairs.append((key, found[0], found[1], _NOWHERE))
        self._remove_copies(pairs)

    # ------------------------------------------------------------------ sync core: listing
    def _container_keys(self, rel_dir: str, name: str) -> list[str]:
        stem = f"{rel_dir}/{name[: -len(self.suffix)]}" if rel_dir else name[: -len(self.suffix)]
        parsed = container_array(stem)
        if parsed is None:
            return []
        prefix, lead = parsed
        info = self._array(prefix)
        if info is None or len(lead) > max(info.ndim - 1, 0) or info.ndim == 0:
            return []  # an orphan container (its array's metadata is gone)
        path = self._abs(f"{rel_dir}/{name}" if rel_dir else name)
        members = self._in_container(path, self._c_members)
        keys = []
        for member in members if isinstance(members, list) else ():
            rest = info.parse_member(member, len(lead))
            if rest is not None:
                keys.append(info.key(lead + rest))
        return keys

    def _keys_under(self, rel_dir: str) -> set[str]:
        keys: set[str] = set()
        base = self._abs(rel_dir)
        for dirpath, _dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, self._root)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            for name in filenames:
                if name.endswith(self.suffix):
                    keys.update(self._container_keys(rel, name))
                elif is_reserved_name(name):
                    for s in CONTAINER_SUFFIXES:
                        if name.endswith(s):
                            raise self._foreign_error(os.path.join(dirpath, name), s)
                else:
                    keys.add(f"{rel}/{name}" if rel else name)
        return keys

    def _list_prefix_sync(self, prefix: str) -> list[str]:
        directory = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        if directory and any(p in ("", ".", "..") for p in directory.split("/")):
            return []
        start = self._array_at_or_above(directory)
        keys = self._keys_under(directory if start is None else start)
        return sorted(k for k in keys if k.startswith(prefix))

    def _list_dir_sync(self, prefix: str) -> list[str]:
        prefix = prefix.rstrip("/")
        if prefix and any(p in ("", ".", "..") for p in prefix.split("/")):
            return []
        if self._array_at_or_above(prefix) is not None:
            head = prefix + "/" if prefix else ""
            return sorted({k[len(head):].split("/", 1)[0]
                           for k in self._list_prefix_sync(head)})
        try:
            with os.scandir(self._abs(prefix)) as it:
                names = [e.name for e in it if not is_reserved_name(e.name)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(names)

    def _delete_dir_sync(self, prefix: str) -> None:
        self._check_writable()
        prefix = prefix.rstrip("/")
        if prefix:
            self._check_key(prefix)
        array = self._array_at_or_above(prefix)
        if array is not None and array != prefix:
            # inside an array: its chunks may share containers with chunks outside ``prefix``
            self._delete_sync(self._list_prefix_sync(prefix + "/"))
            return
        self._forget_arrays(prefix)
        base = self._abs(prefix)
        if not os.path.isdir(base):
            return
        if prefix:
            shutil.rmtree(base, ignore_errors=False)
            self._prune(os.path.dirname(base))
            return
        with os.scandir(base) as it:
            for entry in list(it):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)

    # ------------------------------------------------------------------ consolidate
    def consolidate(self, *, on_container: Callable[[str, int], None] | None = None
                    ) -> dict[str, int]:
        """Move every loose chunk file into its container (for this store's depth), in place.

        Containers are built one at a time: a container is written to a temporary file beside
        it (``<container>.partial``, starting from a copy of the container when there is one),
        synced, moved into place, and only then are its loose chunk files removed. The extra disk
        space needed is therefore about one container, and an interruption leaves every chunk
        readable (at worst in two copies). The result has the same layout as writing with
        ``write_direct=True``.

        Parameters
        ----------
        on_container : callable, optional
            Called as ``on_container(container_path, n_chunks)`` when a container's temporary
            file is complete, before it replaces the loose files: the moment of largest disk use.

        Returns
        -------
        dict
            ``{"containers": number written, "chunks": number of chunks moved}``.

        Raises
        ------
        StoreModeError
            When the store is read-only.
        NotHdmfStoreError
            When the directory holds containers of the other nested store.
        FormatError
            When an existing container is corrupt.
        """
        self._check_writable()
        self._ensure_open_sync()
        plan: dict[str, list[tuple[str, str, str, ArrayKeys, tuple[int, ...]]]] = {}
        for dirpath, _dirnames, filenames in os.walk(self._root):
            rel = os.path.relpath(dirpath, self._root)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            for name in sorted(filenames):
                if is_reserved_name(name):
                    for s in CONTAINER_SUFFIXES:
                        if name.endswith(s) and s != self.suffix:
                            raise self._foreign_error(os.path.join(dirpath, name), s)
                    continue
                key = f"{rel}/{name}" if rel else name
                found = self._chunk_of(key)
                if found is None:
                    continue
                info, idx = found
                path, member = self._container(info, idx, info.depth(self._depth))
                plan.setdefault(path, []).append(
                    (member, os.path.join(dirpath, name), key, info, idx))
        chunks = 0
        for path, entries in sorted(plan.items()):
            tmp = path + ".partial"
            with file_lock(path, exclusive=True, create=True) as fd:
                existing = not _is_empty(fd)
                if existing:
                    shutil.copyfile(path, tmp)
                elif os.path.exists(tmp):
                    os.unlink(tmp)
                loose = ((member, read_file(src, None)) for member, src, *_ in entries)
                self._c_write(tmp, ((m, d) for m, d in loose if d is not None), not existing)
                fsync_path(tmp)
                if on_container is not None:
                    on_container(path, len(entries))
                os.replace(tmp, path)
                fsync_path(os.path.dirname(path))
            self._remove_copies((key, info, idx, info.depth(self._depth))
                                for _m, _s, key, info, idx in entries)
            chunks += len(entries)
        return {"containers": len(plan), "chunks": chunks}
