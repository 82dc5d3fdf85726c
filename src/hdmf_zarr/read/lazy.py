"""The lazy arrays handed out by the reader for plain data.

Plain data comes back as ``zarr.Array`` objects built from the metadata documents already read
(no store request until sliced); small arrays of read-only stores are read whole once and kept
in a bounded cache. Reference datasets, compounds and L2 object arrays are wrapped by the
dataset classes of ``read.datasets``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import FormatError, HdmfZarrError, UnknownCodecError
from ..format import limits
from ..format.documents import check_node_document
from ..format.layout import Layout
from ..format.limits import check_read_size
from ..format.select import layout_for
from ..zarr_bridge.lazy_array import (
    LazyArray,
    open_async_array,
    unparsed_document,
)
from ..zarr_bridge.prefetched import concurrent_reads

__all__ = ["array_from_metadata", "unparsed_document", "ZarrArray", "TextArray", "AstypeView",
           "remember_whole", "attach_table", "MAX_CHUNK_BYTES"]


#: Largest chunk (elements times item size) of a plain array: Zarr decodes whole chunks.
MAX_CHUNK_BYTES = 2**31


def _to_python_text(value):
    """Convert what Zarr returns for text (numpy StringDType arrays, 0-d arrays, numpy str)
    into Python ``str`` objects: a ``str`` for one element, an object array otherwise."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return str(value[()])
        if value.dtype.kind in "TU":
            out = np.empty(value.shape, dtype=object)
            out.reshape(-1)[:] = [str(v) for v in value.reshape(-1)]
            return out
        return value
    if isinstance(value, np.str_):
        return str(value)
    return value


class AstypeView:
    """A lazy dtype conversion of an array: slices are read and then converted (like
    ``h5py.Dataset.astype``), so that hdmf can convert large datasets without loading them."""

    def __init__(self, array, dtype):
        self._array = array
        self.dtype = np.dtype(dtype)

    @property
    def shape(self):
        return tuple(self._array.shape)

    @property
    def ndim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        return np.asarray(self._array[key]).astype(self.dtype)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        return out if dtype is None else out.astype(dtype)

    @property
    def hdmf_zarr_location(self):
        return None


class _ArrayCache:
    """A bounded LRU of whole small arrays read from read-only stores (bytes counted)."""

    def __init__(self, max_bytes: int = 256 * 2**20, max_array_bytes: int = 16 * 2**20):
        from collections import OrderedDict

        self.max_bytes = max_bytes
        self.max_array_bytes = max_array_bytes
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0

    def get(self, array):
        entry = self._items.get(id(array))
        if entry is None or entry[0]() is not array:
            return None
        self._items.move_to_end(id(array))
        return entry[1]

    def put(self, array, value: np.ndarray) -> None:
        import weakref

        self.drop(array)
        self._items[id(array)] = (weakref.ref(array), value)
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes and self._items:
            _key, (_ref, old) = self._items.popitem(last=False)
            self._bytes -= old.nbytes

    def drop(self, array) -> None:
        entry = self._items.pop(id(array), None)
        if entry is not None:
            self._bytes -= entry[1].nbytes


_CACHE = _ArrayCache()


class ZarrArray(LazyArray):
    """The ``zarr.Array`` the reader hands out.

    It is built from the node's documents with Zarr's metadata parsed on first use
    (``zarr_bridge.lazy_array.LazyArray``, whose parameters it takes), returns scalars for
    single elements (as h5py and Zarr 2 do), iterates like h5py datasets, and has a lazy
    ``astype`` (hdmf calls it when a stored dtype differs from the spec's).
    """

    def _where(self) -> str:
        document = unparsed_document(self)
        # without parsing the array (``self.path`` would)
        path = document[1] if document is not None else self.path
        return "/" + str(path).strip("/")

    def _store(self):
        """The array's store, without having Zarr parse the array when it is not yet."""
        document = unparsed_document(self)
        if document is not None:
            return document[0]
        return self.store_path.store

    def __getitem__(self, selection):
        if type(selection) in (int, slice, np.int64):
            # the hot path of hdmf's row-by-row reads (VectorIndex bounds, region rows): an
            # array already in memory needs no error translation, and the read limit is only
            # checked when the array itself exceeds it (an integer or a slice never selects
            # more than the array)
            cached = _CACHE.get(self)
            if cached is not None:
                if cached.nbytes > limits.MAX_READ_BYTES:
                    check_read_size(cached.shape, selection, cached.dtype.itemsize or 8,
                                    self._where())
                return _select(cached, selection)
        selection = _whole_number_index(selection)
        where = self._where()
        try:
            itemsize = self.dtype.itemsize
        except HdmfZarrError:
            raise
        except Exception:
            itemsize = 8
        check_read_size(self.shape, selection, itemsize if itemsize > 0 else 8, where)
        try:
            with concurrent_reads():  # the chunks of a slice in one round trip
                return self._getitem(selection)
        except (HdmfZarrError, IndexError, KeyboardInterrupt):
            raise
        except MemoryError:
            raise FormatError("not enough memory to read this selection (shape "
                              f"{tuple(self.shape)})", where) from None
        except Exception as exc:  # codecs raise assorted types on corrupt chunks
            raise FormatError(f"cannot read or decode the stored data "
                              f"({type(exc).__name__}: {exc})", where) from exc

    def _getitem(self, selection):
        cached = _CACHE.get(self)
        if cached is not None:
            return _select(cached, selection)
        table = self.extra("table")
        if table is not None and not table.done:
            # the first read of a table's column reads all its columns at once
            table.fetch()
            cached = _CACHE.get(self)
            if cached is not None:
                return _select(cached, selection)
        if self._cacheable():
            whole = self._read_whole()
            if isinstance(whole, np.ndarray) and whole.ndim > 0:
                _CACHE.put(self, whole)
                return _select(whole, selection)
            out = whole
        else:
            out = super().__getitem__(selection)
        # Zarr 3 returns 0-d arrays for single elements; h5py and Zarr 2 return scalars, and
        # hdmf (VectorIndex bounds, pandas positional indexing) relies on that.
        if isinstance(out, np.ndarray) and out.ndim == 0:
            return out[()]
        return out

    def _read_whole(self):
        """The whole array: a one-chunk numeric array straight from its chunk
        (``read.scalars.read_single_chunk``), anything else through Zarr."""
        from .scalars import read_single_chunk

        whole = read_single_chunk(self)
        if whole is None:
            return super().__getitem__(...)
        return whole.astype(whole.dtype.newbyteorder("="), copy=False) \
            if not whole.dtype.isnative else whole

    def _cacheable(self) -> bool:
        """Small arrays of read-only stores are read whole once and served from memory:
        hdmf reads ragged columns element by element (VectorIndex bounds, then each row)."""
        if self.ndim == 0 or not self._store().read_only:
            return False
        dtype = self.known_dtype
        itemsize = dtype.itemsize if dtype is not None else 8
        return math.prod(self.shape) * itemsize <= _CACHE.max_array_bytes

    def has_cached_whole(self) -> bool:
        """True when the whole array is held in memory (read before, or fetched in a wave)."""
        return _CACHE.get(self) is not None

    def __setitem__(self, selection, value):
        _CACHE.drop(self)
        super().__setitem__(selection, value)

    def resize(self, new_shape):
        _CACHE.drop(self)
        return super().resize(new_shape)

    def append(self, data, axis=0):
        _CACHE.drop(self)
        return super().append(data, axis=axis)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def astype(self, dtype):
        """A lazy view converting every slice to ``dtype``."""
        return AstypeView(self, dtype)

    @property
    def compressor(self):
        """The compressor as Zarr 2 reported it (a numcodecs codec or None), in both formats
        (``zarr_bridge.zarr2_codecs``)."""
        from ..zarr_bridge.zarr2_codecs import zarr2_compressor

        return zarr2_compressor(self)


class TextArray(ZarrArray):
    """A ``zarr.Array`` of text that returns Python ``str`` (object arrays of ``str`` when
    sliced), as HDMF and pandas expect, instead of numpy ``StringDType`` arrays."""

    @property
    def dtype(self):
        """``object``: elements come back as Python ``str`` (hdmf's validator and export treat
        object arrays as variable-length text, as with Zarr 2 and h5py)."""
        return np.dtype(object)

    def _getitem(self, selection):
        return _to_python_text(super()._getitem(selection))

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        out = np.asarray(out) if isinstance(out, np.ndarray) else np.array(out, dtype=object)
        return out if dtype is None else out.astype(dtype)




def _check_codecs(meta: dict, layout: Layout, where: str) -> None:
    """Refuse unknown codec ids at once (FORMAT.md 5), before the array is parsed lazily."""
    for name in layout.codec_ids(meta, where):
        if not layout.is_known_codec(name):
            raise UnknownCodecError(f"unknown codec: {name!r}", where)


def array_from_metadata(store, path: str, meta: dict, attrs: dict | None,
                        zarr_format: int) -> ZarrArray:
    """A ``zarr.Array`` for the array at ``path`` from its parsed documents, without I/O.

    Zarr parses the document on first use of the array (parsing thousands of documents is what
    opening a metadata-heavy file would otherwise spend its time on); shape and numeric dtype
    come from the document directly, and codec ids are checked at once.

    Raises
    ------
    UnknownCodecError
        When a codec id is unknown.
    FormatError
        When the shape is malformed; other malformed metadata raises on first use.
    """
    where = "/" + path.strip("/")
    layout = layout_for(zarr_format)
    # the checks ``hdmf-zarr info`` makes too (shape, chunk grid, codecs, sharding...)
    check_node_document(meta, layout.array_document, where)
    shape = meta["shape"]
    _check_codecs(meta, layout, where)

    def factory():
        try:
            return open_async_array(store, path, {**meta, "attributes": attrs or {}},
                                    zarr_format)
        except Exception as exc:  # zarr raises ValueError/TypeError/KeyError for bad metadata
            if "codec" in str(exc).lower():
                raise UnknownCodecError(f"unknown codec: {exc}", where) from None
            raise FormatError(f"Zarr cannot open this array: {exc}", where) from None

    cls = TextArray if layout.is_text_array(meta) else ZarrArray
    # the document, for readers that need only a few of its fields (read.scalars)
    return cls(factory=factory, shape=tuple(shape), dtype=layout.plain_numeric_dtype(meta),
               document=(store, path.strip("/"), meta, zarr_format))




def _whole_number_index(selection):
    """``selection`` with float index arrays whose values are whole numbers turned into int64.

    NWB tools build such arrays without meaning to (``np.concatenate`` of a uint64 and an int64
    index gives float64: nwbinspector's Units duration check); numpy, Zarr and h5py refuse
    them. Any other selection, including floats with a fractional part, is returned unchanged
    and fails as numpy would.
    """
    if isinstance(selection, tuple):
        return tuple(_whole_number_index(part) for part in selection)
    if isinstance(selection, np.ndarray) and selection.dtype.kind == "f" and selection.size:
        as_int = selection.astype(np.int64)
        if np.array_equal(as_int, selection):
            return as_int
    return selection


def _select(whole: np.ndarray, selection):
    """``whole[selection]`` as a reader gets it: a copy (never a view of the cached array), and a
    single element as a numpy scalar, as h5py and Zarr 2 return it (hdmf relies on that)."""
    out = whole[selection]
    if isinstance(out, np.ndarray):
        return out.copy() if out.ndim else out[()]
    return out

def remember_whole(array: ZarrArray, value) -> None:
    """Keep ``value``, the whole of ``array`` read in a wave (``read.prefetch``), for the
    array's reads (only arrays :meth:`ZarrArray._cacheable` allows, as a first read would)."""
    if isinstance(value, np.ndarray) and value.ndim > 0 and array._cacheable() and \
            tuple(value.shape) == tuple(array.shape):
        _CACHE.put(array, value)


def attach_table(array, table) -> None:
    """Make the first read of ``array`` (a ``ZarrArray``) read every column of ``table``
    (a ``read.prefetch.TableGroup``) at once; other arrays are left alone."""
    if isinstance(array, ZarrArray):
        array.set_extra("table", table)
