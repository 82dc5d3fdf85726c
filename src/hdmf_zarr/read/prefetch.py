"""The read wave: everything ``read()`` needs from the store's chunks, fetched concurrently
(docs/performance.md, "Streaming").

While the reader builds the builder tree it registers here what it will need: the value of
every scalar dataset, the small arrays hdmf reads while constructing containers (table ``id``
columns, region references outside tables, datetime arrays, untyped text arrays such as
``experimenter``), and, with the opt-in ``prefetch`` budget, every other small dataset. One
call of :meth:`ReadWave.run` then fetches all of it in one concurrent batch (one round trip on
a remote store). Values land where the later reads look: builders get their scalar values,
whole arrays go to the reader's array cache (``lazy.ZarrArray``), and the chunks of L2 object
arrays to the :class:`~hdmf_zarr.zarr_bridge.prefetched.PrefetchedStore` those arrays read
through.

:class:`TableGroup` does the same for the columns of one ``DynamicTable`` on the first read of
any of them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..errors import FormatError
from ..zarr_bridge import store_io
from ..zarr_bridge.lazy_array import unparsed_document
from ..zarr_bridge.object_array import ObjectArrayV2
from ..zarr_bridge.prefetched import PrefetchedStore, gather, getitem_async
from ..zarr_bridge.runtime import run
from .lazy import TextArray, ZarrArray, _to_python_text, remember_whole
from .scalars import decode_chunk, scalar_plan, single_chunk_plan

__all__ = ["ReadWave", "TableGroup", "prefetch_budget", "DEFAULT_PREFETCH_BYTES",
           "PREFETCH_DATASET_BYTES", "READ_WHEN_CONSTRUCTED_TYPES", "TABLE_BYTES",
           "estimated_bytes"]

#: Total bytes (decoded) that ``prefetch=True`` fetches at most.
DEFAULT_PREFETCH_BYTES = 64 * 2**20
#: Largest dataset (decoded bytes) fetched by ``prefetch``.
PREFETCH_DATASET_BYTES = 2**20
#: Largest total (decoded bytes) of the columns of one table read together on first access.
TABLE_BYTES = 64 * 2**20
#: Data types whose arrays hdmf reads whole while it constructs containers (table ids; and
#: regions, whose indices ``DynamicTableRegion`` checks against the table)
READ_WHEN_CONSTRUCTED_TYPES = ("ElementIdentifiers", "DynamicTableRegion")
#: Bytes counted per element of a text array (its decoded size is unknown before reading).
TEXT_ELEMENT_BYTES = 32


def prefetch_budget(value: bool | int) -> int:
    """The prefetch budget in bytes of the ``prefetch`` keyword of ``ZarrIO``/``NWBZarrIO``.

    Parameters
    ----------
    value : bool or int
        False or 0: no prefetch; True: :data:`DEFAULT_PREFETCH_BYTES`; a positive int: that
        many bytes.

    Raises
    ------
    ValueError
        For a negative int.
    """
    if value is True:
        return DEFAULT_PREFETCH_BYTES
    if value is False or value is None:
        return 0
    if int(value) < 0:
        raise ValueError(f"prefetch must be a bool or a byte count >= 0, not {value!r}")
    return int(value)


def estimated_bytes(raw: Any) -> int:
    """Decoded size of a whole array (text counted :data:`TEXT_ELEMENT_BYTES` per element)."""
    count = math.prod(tuple(raw.shape))
    if isinstance(raw, TextArray):
        return count * TEXT_ELEMENT_BYTES
    dtype = raw.dtype
    itemsize = getattr(dtype, "itemsize", 0)
    if not itemsize or getattr(dtype, "kind", "O") == "O":
        itemsize = TEXT_ELEMENT_BYTES
    return count * itemsize


#: Most chunks of one L2 object array fetched in a wave (more are left to its own reads).
MAX_WAVE_CHUNKS = 1024


def _object_chunk_keys(raw: ObjectArrayV2) -> list[str]:
    """Store keys of every chunk of an L2 object array (at most :data:`MAX_WAVE_CHUNKS`: the
    caller checks ``nchunks`` first)."""
    grid = [range(math.ceil(s / c)) if s else range(0)
            for s, c in zip(raw.shape, raw.chunks)]
    return [raw._chunk_key(coords) for coords in itertools.product(*grid)]


class _Fetch:
    """One concurrent batch: keys of one store, chunk reads of L2 object arrays, and whole or
    scalar reads of Zarr arrays."""

    def __init__(self, store, object_store):
        self.store = store
        self.object_store = object_store
        self.keys: list[str] = []
        self.object_keys: list[str] = []
        self.reads: list[tuple[Any, Any]] = []

    def run(self) -> tuple[dict, list]:
        async def wave():
            found = await gather(store_io.get_many_async(self.store, self.keys),
                                 store_io.get_many_async(self.store, self.object_keys),
                                 *(getitem_async(raw, sel) for raw, sel in self.reads))
            return found

        if not (self.keys or self.object_keys or self.reads):
            return {}, []
        found = run(wave())
        for batch in found[:2]:
            if isinstance(batch, BaseException):
                raise batch
        if isinstance(self.object_store, PrefetchedStore):
            self.object_store.add(found[1])
        return found[0], found[2:]


class ReadWave:
    """What ``read()`` fetches in one concurrent batch.

    Parameters
    ----------
    store : zarr.abc.store.Store
    budget : int or None
        Prefetch budget in bytes (0: only what reading needs); None for a store open for
        writing, where nothing but scalar values is fetched ahead (arrays may change).
    """

    def __init__(self, store, budget: int | None, dataset_bytes: int = PREFETCH_DATASET_BYTES):
        self.store = store
        self.read_only = budget is not None
        self.budget = budget or 0
        self.dataset_bytes = dataset_bytes
        #: the store L2 object arrays of this reader read through (fetched chunks kept there)
        self.object_store = PrefetchedStore(store) if self.read_only else store
        self._scalars: list[tuple[Any, Any, Any]] = []
        self._arrays: list[Any] = []
        self._objects: list[Any] = []
        self._after: list[tuple[Any, Any]] = []

    def add_scalar(self, builder, raw, index) -> None:
        """Read ``raw[index]`` into ``builder["data"]`` (a scalar dataset)."""
        self._scalars.append((builder, raw, index))

    def add_array(self, raw, needed: bool) -> bool:
        """Fetch the whole of ``raw`` in the wave: always when ``needed`` (hdmf reads it while
        constructing) and small enough to be cached, else within the prefetch budget.
        Returns True when it will be fetched."""
        if not self.read_only:
            return False
        size = estimated_bytes(raw)
        if isinstance(raw, ZarrArray):
            if not raw._cacheable():
                return False
        elif not isinstance(raw, ObjectArrayV2) or raw._store is not self.object_store or \
                raw.nchunks > MAX_WAVE_CHUNKS or size > TABLE_BYTES:
            return False
        if not needed:
            if size > self.dataset_bytes or size > self.budget:
                return False
            self.budget -= size
        (self._arrays if isinstance(raw, ZarrArray) else self._objects).append(raw)
        return True

    def after(self, builder, make) -> None:
        """Set ``builder["data"] = make()`` once the wave has run (values computed from
        arrays fetched in it, e.g. L2 datetime arrays)."""
        self._after.append((builder, make))

    def run(self) -> None:
        """Fetch everything registered in one concurrent batch and deliver it.

        Raises
        ------
        FormatError
            When a scalar value cannot be read or decoded.
        """
        fetch = _Fetch(self.store, self.object_store)
        plans: list[tuple[Any, Any, Any, Any]] = []
        zarr_scalars = []
        for item in self._scalars:
            raw = item[1]
            if isinstance(raw, ObjectArrayV2):
                if self.read_only:  # else read below, from the store itself
                    fetch.object_keys += _object_chunk_keys(raw)
                continue
            plan = None if isinstance(raw, TextArray) else scalar_plan(raw)
            if plan is not None and plan[0] is self.store:
                fetch.keys.append(plan[1])
                plans.append((item, *plan[1:]))
            else:
                zarr_scalars.append(item)
        for raw in self._objects:
            fetch.object_keys += _object_chunk_keys(raw)
        # one-chunk numeric arrays: their chunk in the batch of keys, decoded with numcodecs
        # (cheap to start: a wave of a thousand arrays leaves no gap between its requests)
        chunked, zarr_arrays = [], []
        for raw in self._arrays:
            document = unparsed_document(raw)
            plan = single_chunk_plan(*document) if document is not None else None
            if plan is not None and plan[0] is self.store:
                fetch.keys.append(plan[1])
                chunked.append((raw, plan))
            else:
                zarr_arrays.append(raw)
        fetch.reads = [(raw, index) for _db, raw, index in zarr_scalars] + \
            [(raw, ...) for raw in zarr_arrays]
        found, values = fetch.run()
        for raw, (_store, key, dtype, decoders) in chunked:
            whole = _decoded_whole(found.get(key), dtype, decoders, tuple(raw.shape))
            if whole is not None:  # else (absent, odd): read through Zarr when sliced
                remember_whole(raw, whole)
        array_values = values[len(zarr_scalars):]
        scalar_values = values[:len(zarr_scalars)]
        late = [item for item, key, dtype, decoders in plans
                if not self._decoded(item, found.get(key), dtype, decoders)]
        if late:  # absent chunks (fill value) or odd ones: read through Zarr, as before
            later = _Fetch(self.store, self.object_store)
            later.reads = [(raw, index) for _db, raw, index in late]
            zarr_scalars += late
            scalar_values += later.run()[1]
        for (db, raw, _index), value in zip(zarr_scalars, scalar_values):
            if isinstance(value, BaseException):
                raise FormatError(f"cannot read the scalar value: {value}",
                                  "/" + raw.path) from value
            db["data"] = scalar_value(text_value(value) if isinstance(raw, TextArray) else value)
        for raw, value in zip(zarr_arrays, array_values):
            if not isinstance(value, BaseException):
                remember_whole(raw, value)  # a failure is reported when the data is read
        for db, raw, index in self._scalars:
            if isinstance(raw, ObjectArrayV2):
                db["data"] = scalar_value(raw[index])
        for db, make in self._after:
            db["data"] = make()
        self._scalars.clear()
        self._arrays.clear()
        self._objects.clear()
        self._after.clear()


    @staticmethod
    def _decoded(item, data: bytes | None, dtype, decoders) -> bool:
        """Set a numeric scalar's value from its fetched chunk; False when it must be read
        through Zarr (absent, or not exactly one decoded element)."""
        if data is None:
            return False
        try:
            flat = decode_chunk(data, dtype, decoders, 1)
        except Exception:  # a chunk that does not decode: Zarr reports it
            return False
        if flat is None:
            return False
        item[0]["data"] = scalar_value(flat[0])
        return True


def _decoded_whole(data: bytes | None, dtype, decoders, shape: tuple) -> np.ndarray | None:
    """A one-chunk array decoded from its fetched chunk, in native byte order; None when the
    chunk is absent or does not decode to the array's shape (Zarr then reads it)."""
    if data is None:
        return None
    try:
        flat = decode_chunk(data, dtype, decoders, math.prod(shape))
    except Exception:  # a chunk that does not decode: Zarr reports it when read
        return None
    if flat is None:
        return None
    whole = flat.reshape(shape)
    return whole if whole.dtype.isnative else whole.astype(whole.dtype.newbyteorder("="))


class TableGroup:
    """The columns of one ``DynamicTable``, read together on the first read of any of them.

    The columns of the tables its ``DynamicTableRegion`` columns point to (one level) are
    fetched in the same batch: hdmf resolves a region into those rows (``to_dataframe``,
    ``table[i]``).

    Parameters
    ----------
    wave : ReadWave
        The reader's wave (gives the stores).
    tables : dict of str to TableGroup, optional
        The reader's tables by object path, where the linked tables are looked up when the
        batch is fetched (they may be built after this one).
    """

    def __init__(self, wave: ReadWave, tables: dict[str, TableGroup] | None = None):
        self.wave = wave
        self.tables = tables if tables is not None else {}
        self.members: list[Any] = []
        self.linked: list[str] = []
        self.done = False

    def add(self, raw) -> None:
        """Add a column's (or index's) raw array."""
        self.members.append(raw)

    def link(self, path: str) -> None:
        """Fetch the columns of the table at object ``path`` with this table's."""
        if path not in self.linked:
            self.linked.append(path)

    def fetch(self) -> None:
        """Fetch every member not read yet, and those of the linked tables not read yet (up
        to :data:`TABLE_BYTES` in all), in one concurrent batch. Failures are left to the
        reads that follow (they report them)."""
        if self.done:
            return
        self.done = True
        members = list(self.members)
        for path in self.linked:
            other = self.tables.get(path)
            if other is not None and not other.done and other is not self:
                members += other.members  # its own first read then finds them fetched
        wave = ReadWave(self.wave.store, TABLE_BYTES, TABLE_BYTES)
        wave.object_store = self.wave.object_store
        fetched = getattr(wave.object_store, "fetched", {})
        for raw in members:
            if isinstance(raw, ZarrArray) and raw.has_cached_whole():
                continue
            if isinstance(raw, ObjectArrayV2) and raw.nchunks <= MAX_WAVE_CHUNKS and all(
                    k in fetched for k in _object_chunk_keys(raw)):
                continue
            wave.add_array(raw, needed=False)
        try:
            wave.run()
        except Exception:
            pass


def text_value(value):
    """Python ``str`` (or object arrays of them) for what Zarr returns for text."""
    return _to_python_text(value)


def scalar_value(value):
    """A scalar dataset's value as a builder holds it: Python ``str`` for text (bytes that
    are UTF-8 decoded), numpy scalars for numbers."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, np.str_):
        return str(value)
    return value
