"""Chunk keys and container files: what the two nested stores share.

A nested store (:class:`~hdmf_zarr.storage.H5NestedStore`,
:class:`~hdmf_zarr.storage.ZipNestedStore`) looks like a plain nested directory store except
that the chunk files of each array are grouped into container files (HDF5 or zip). This module
holds the rules that decide which key goes where (written once, used by both stores);
``_nestedkeys`` applies them to a store directory and ``_nested`` holds
:class:`NestedContainerStore`, the directory handling, listing, locking and ``consolidate``
common to both.

Rules
-----
* **Chunk keys.** A key is a chunk key when the directory holding an array's metadata document
  (``zarr.json`` with ``"node_type": "array"``, or ``.zarray``) is a prefix of it and the rest
  parses as chunk indices in that array's key encoding: Zarr 3 ``default`` (``c/3/0/1``, or
  ``c.3.0.1`` with the ``.`` separator), Zarr 3 ``v2`` and Zarr 2 (``3.0.1``, or ``3/0/1`` with
  ``dimension_separator: "/"``). Every other key (metadata documents, keys of arrays whose
  metadata is not written yet, chunks of 0-d arrays) is a loose file, as in a directory store.
* **Containers.** ``consolidate_depth=d`` groups the chunks of an ``n``-dimensional array by
  their first ``min(d, n - 1)`` indices. The container of indices ``(i, j)`` of array ``A`` is
  ``A/c/i/j<suffix>``; with no leading index it is ``A/c<suffix>``, whatever the array's key
  encoding (``suffix`` is ``.h5shard`` or ``.zipshard``). Inside an array's directory every Zarr
  key is a chunk key (indices) or a metadata document, so these names cannot collide with one.
* **Members.** Inside a container a chunk is stored under its remaining indices joined with the
  array's separator (``0/1`` for ``c/3/0/1`` in ``c/3.h5shard``; ``0.1`` for a Zarr 2 key
  ``3.0.1``).
* **Reserved names.** A file name ending with a container suffix or containing one followed by a
  ``.`` (temporary files: ``.partial``, ``.rewrite``, ``.h5shard.partial-<pid>-<thread>``) is not a
  key; :meth:`NestedContainerStore.set` refuses such keys.

Reading tries the container of the configured depth and the loose file (in the order of
``write_direct``) and then the containers of the other depths, so a store written with one depth
reads with any other. Writing a chunk removes its copies in the other places, so a key has one
stored copy.

Write order does not matter within a process: a chunk whose array document is not there yet is
written loose, and creating the document moves such chunks into their containers (the writer
sends a small array's document and chunk in one concurrent batch). A container belongs to its
array: without the array's document (zarr deletes whole nodes, never the document alone) its
chunks are neither listed nor read, and they come back with the document.

The byte-range helpers here are also used by :class:`~hdmf_zarr.storage.SQLiteStore`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)

from ..format.layout import Layout
from ..format.layout2 import L2
from ..format.layout3 import L3
from ..zarr_bridge.runtime import Buffer, BufferPrototype, default_buffer_prototype

__all__ = [
    "ARRAY_DOCUMENTS",
    "CONTAINER_SUFFIXES",
    "METADATA_NAMES",
    "ArrayKeys",
    "array_keys_from_document",
    "as_buffer",
    "candidate_array_prefixes",
    "check_byte_range",
    "container_array",
    "is_reserved_name",
    "resolve_byte_range",
]

#: Names of Zarr metadata documents; such keys are always loose files.
METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"})

#: Container suffix -> the store class that writes such containers.
CONTAINER_SUFFIXES = {".h5shard": "H5NestedStore", ".zipshard": "ZipNestedStore"}

#: Array document name -> the layout whose array metadata documents have that name.
_ARRAY_LAYOUTS: dict[str, Layout] = {layout.array_document: layout for layout in (L3(), L2())}
#: The names of array metadata documents, the Zarr 3 one first.
ARRAY_DOCUMENTS = tuple(_ARRAY_LAYOUTS)

_INDEX = re.compile(r"0|[1-9][0-9]{0,18}")
_CHUNKISH = re.compile(r"(?:c|0|[1-9][0-9]{0,18})(?:\.(?:0|[1-9][0-9]{0,18}))*")
_MAX_DIMS = 64
_READ_ONLY_MESSAGE = "store was opened in read-only mode and does not support writing"


# ---------------------------------------------------------------------------------- byte ranges
def check_byte_range(byte_range: Any) -> None:
    """Raise unless ``byte_range`` is None or one of Zarr's byte requests.

    Raises
    ------
    TypeError
        For any other value (the message starts with "Unexpected byte_range", as Zarr's stores').
    """
    if byte_range is not None and not isinstance(
            byte_range, (RangeByteRequest, OffsetByteRequest, SuffixByteRequest)):
        raise TypeError(f"Unexpected byte_range, got {byte_range}.")


def resolve_byte_range(size: int, byte_range: ByteRequest | None) -> tuple[int, int]:
    """``(start, stop)`` offsets that ``byte_range`` selects in a value of ``size`` bytes.

    Follows Zarr's stores: a range past the end is cut at the end, a suffix longer than the value
    selects all of it.

    Parameters
    ----------
    size : int
        Length of the value in bytes.
    byte_range : RangeByteRequest, OffsetByteRequest, SuffixByteRequest or None
        The request; None selects everything.

    Raises
    ------
    TypeError
        For an unknown request type.
    """
    check_byte_range(byte_range)
    if byte_range is None:
        start, stop = 0, size
    elif isinstance(byte_range, RangeByteRequest):
        start, stop = byte_range.start, byte_range.end
    elif isinstance(byte_range, OffsetByteRequest):
        start, stop = byte_range.offset, size
    else:
        start, stop = size - byte_range.suffix, size
    start = min(max(start, 0), size)
    stop = min(max(stop, start), size)
    return start, stop


# ---------------------------------------------------------------------------------- chunk keys
def _is_index(text: str) -> bool:
    return _INDEX.fullmatch(text) is not None


@dataclass(frozen=True)
class ArrayKeys:
    """The chunk key encoding of one array.

    Parameters
    ----------
    prefix : str
        Key of the array's directory (``""`` for an array at the store root).
    ndim : int
        Number of dimensions.
    default : bool
        True for Zarr 3's ``default`` encoding (``c`` then the indices), False for the Zarr 2
        style (indices only; Zarr 2 arrays and Zarr 3's ``v2`` encoding).
    separator : str
        ``"/"`` or ``"."``.
    """

    prefix: str
    ndim: int
    default: bool
    separator: str

    def parse(self, rel: str) -> tuple[int, ...] | None:
        """Indices of the chunk key ``rel`` (relative to the array), or None if it is not one."""
        if self.ndim == 0:
            return () if rel == ("c" if self.default else "0") else None
        if self.default:
            head = "c" + self.separator
            if not rel.startswith(head):
                return None
            rel = rel[len(head):]
        parts = rel.split(self.separator)
        if len(parts) != self.ndim or not all(_is_index(p) for p in parts):
            return None
        return tuple(int(p) for p in parts)

    def render(self, idx: tuple[int, ...]) -> str:
        """The chunk key (relative to the array) of indices ``idx``."""
        if not idx:
            return "c" if self.default else "0"
        text = self.separator.join(str(i) for i in idx)
        return f"c{self.separator}{text}" if self.default else text

    def key(self, idx: tuple[int, ...]) -> str:
        """The store key of the chunk of indices ``idx``."""
        rel = self.render(idx)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def depth(self, consolidate_depth: int) -> int:
        """Number of leading indices that pick the container (``consolidate_depth`` clamped)."""
        return max(0, min(consolidate_depth, self.ndim - 1))

    def container_key(self, lead: tuple[int, ...], suffix: str) -> str:
        """Store-relative path of the container of leading indices ``lead``."""
        rel = "c" + "".join(f"/{i}" for i in lead) + suffix
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def member(self, rest: tuple[int, ...]) -> str:
        """Member name, inside its container, of the chunk whose remaining indices are ``rest``."""
        return self.separator.join(str(i) for i in rest)

    def parse_member(self, member: str, lead: int) -> tuple[int, ...] | None:
        """Remaining indices of a member name of a container with ``lead`` leading indices."""
        parts = member.split(self.separator)
        if len(parts) != self.ndim - lead or not all(_is_index(p) for p in parts):
            return None
        return tuple(int(p) for p in parts)


def array_keys_from_document(prefix: str, name: str, raw: bytes) -> ArrayKeys | None:
    """The chunk key encoding an array metadata document declares, or None.

    Parameters
    ----------
    prefix : str
        Key of the directory holding the document.
    name : str
        The document's name: one of :data:`ARRAY_DOCUMENTS` (``"zarr.json"``, ``".zarray"``);
        the layout with that array document parses it (``Layout.array_chunk_key_encoding``).
    raw : bytes
        The document.

    Returns
    -------
    ArrayKeys or None
        None when the document is not valid JSON, not an array's, or uses a key encoding other
        than ``default``/``v2`` with a ``/`` or ``.`` separator (its chunks then stay loose).
    """
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("shape"), list):
        return None
    ndim = len(doc["shape"])
    if ndim > _MAX_DIMS:
        return None
    layout = _ARRAY_LAYOUTS.get(name)
    encoding = None if layout is None else layout.array_chunk_key_encoding(doc)
    if encoding is None:
        return None
    default, sep = encoding
    if sep not in ("/", "."):
        return None
    return ArrayKeys(prefix, ndim, default, sep)


def candidate_array_prefixes(key: str) -> list[tuple[str, str]]:
    """The ways ``key`` could be a chunk key, judged from its text alone.

    Parameters
    ----------
    key : str
        A store key.

    Returns
    -------
    list of (str, str)
        ``(array prefix, chunk key relative to it)`` pairs, deepest array prefix first; empty
        for metadata documents and keys whose last component cannot be part of a chunk key.
    """
    parts = key.split("/")
    if parts[-1] in METADATA_NAMES:
        return []
    run = 0
    for part in reversed(parts):
        if run > _MAX_DIMS or _CHUNKISH.fullmatch(part) is None:
            break
        run += 1
    n = len(parts)
    return [("/".join(parts[:m]), "/".join(parts[m:])) for m in range(n - 1, n - run - 1, -1)]


def container_array(stem: str) -> tuple[str, tuple[int, ...]] | None:
    """The array and leading chunk indices a container belongs to.

    Parameters
    ----------
    stem : str
        Store-relative path of a container without its suffix (``a/b/c/3``).

    Returns
    -------
    (str, tuple of int) or None
        ``(array prefix, leading indices)`` (``("a/b", (3,))``), or None when the path is not
        that of a container.
    """
    parts = stem.split("/")
    for k in range(len(parts) - 1, -1, -1):
        if parts[k] == "c":
            lead = parts[k + 1:]
            if all(_is_index(p) for p in lead):
                return "/".join(parts[:k]), tuple(int(p) for p in lead)
            return None
        if not _is_index(parts[k]):
            return None
    return None


async def get_many_batched(
        store: Store, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]],
        read_whole: Callable[[list[str]], dict[str, bytes]]
) -> AsyncGenerator[tuple[str, Buffer | None], None]:
    """The body of a store's ``_get_many``: whole keys read by ``read_whole`` in one worker
    thread (one thread hand-off for the batch, not one per key), byte ranges through the
    store's own ``get``. Used by ``AtomicLocalStore`` and ``SQLiteStore``.

    Parameters
    ----------
    store : zarr.abc.store.Store
        An open store (its ``get`` serves the byte-range requests).
    requests : iterable of (str, BufferPrototype, ByteRequest or None)
    read_whole : callable
        ``read_whole(keys: list[str]) -> dict[str, bytes]``, blocking; absent keys are left out.

    Yields
    ------
    (str, Buffer or None)
        Whole keys first, in request order, then the byte ranges; None for absent keys.
    """
    whole: list[tuple[str, BufferPrototype, ByteRequest | None]] = []
    ranged: list[tuple[str, BufferPrototype, ByteRequest | None]] = []
    for request in requests:
        (whole if request[2] is None else ranged).append(request)
    if whole:
        found = await asyncio.to_thread(read_whole, list(dict.fromkeys(k for k, _p, _r in whole)))
        for key, prototype, _range in whole:
            yield key, as_buffer(found.get(key), prototype)
    for key, prototype, byte_range in ranged:
        yield key, await store.get(key, prototype, byte_range)


def as_buffer(data: bytes | None, prototype: BufferPrototype | None) -> Buffer | None:
    """``data`` in a buffer of ``prototype`` (the default one when None); None stays None."""
    if data is None:
        return None
    return (prototype or default_buffer_prototype()).buffer.from_bytes(data)


def is_reserved_name(name: str) -> bool:
    """True for file names the nested stores keep for containers and temporary files.

    Parameters
    ----------
    name : str
        A file name (last component of a key).
    """
    return any(name.endswith(s) or (s + ".") in name for s in CONTAINER_SUFFIXES)
