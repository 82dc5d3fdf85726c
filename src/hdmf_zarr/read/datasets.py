"""The datasets the reader hands out for what is not plain data: L2 object arrays (text, byte
strings, records) and the resolver datasets of references and compounds with reference fields,
which hdmf's ObjectMapper inverts to resolve references to containers
(``hdmf.query.ReferenceResolver``).
"""

from __future__ import annotations

import numpy as np
import zarr
from hdmf.build import ObjectMapper
from hdmf.build.errors import ConstructError
from hdmf.query import BuilderResolver, ContainerResolver, HDMFDataset

from ..errors import FormatError, HdmfZarrError
from .failures import construct_failure
from .lazy import AstypeView

__all__ = ["ObjectDataset", "BuilderZarrReferenceDataset", "ContainerZarrReferenceDataset",
           "BuilderZarrTableDataset", "ContainerZarrTableDataset"]


class _WrappedDataset(HDMFDataset):
    """An ``HDMFDataset`` over one of our raw arrays (``zarr.Array`` or ``ObjectArrayV2``).

    ``HDMFDataset.__init__`` restricts the wrapped type through docval, so the raw array is held
    directly instead.
    """

    def __init__(self, array):
        self._raw = array

    @property
    def dataset(self):
        return self._raw

    @property
    def shape(self):
        return tuple(self._raw.shape)

    @property
    def ndim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0] if self.shape else 1

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self[...] if self.shape else self[()])
        return out if dtype is None else out.astype(dtype)

    @property
    def compressor(self):
        """The stored compressor as Zarr 2 reported it (numcodecs codec or None)."""
        return self._codecs()[0]

    @property
    def filters(self):
        """The stored filters as Zarr reports them (numcodecs codecs for L2, else Zarr's)."""
        return self._codecs()[1]

    def _codecs(self) -> tuple:
        from ..zarr_bridge.zarr2_codecs import object_array_codecs

        if isinstance(self._raw, zarr.Array):
            return self._raw.compressor, self._raw.filters
        return object_array_codecs(self._raw)


class ObjectDataset(_WrappedDataset):
    """An ``HDMFDataset`` over an L2 object array (``ObjectArrayV2``): text, byte strings or
    records, returned as numpy object arrays of Python values.

    Zarr-Python 3 cannot open these arrays (FORMAT.md 2.8), so they are not ``zarr.Array``.

    Parameters
    ----------
    array : ObjectArrayV2
    table : read.prefetch.TableGroup, optional
        The columns of the table holding this one, read together on the first read.
    """

    def __init__(self, array, table=None):
        super().__init__(array)
        self._table = table

    @property
    def dtype(self):
        return self._raw.dtype

    @property
    def chunks(self):
        return self._raw.chunks

    def __getitem__(self, key):
        if self._table is not None and not self._table.done:
            self._table.fetch()
        return self._raw[key]

    def astype(self, dtype):
        """A lazy view converting every slice to ``dtype``."""
        return AstypeView(self, dtype)

    def append(self, arg):
        """Append one element along the first axis (1-D text and byte-string arrays).

        The array is rewritten whole (L2 object arrays are small text columns; Zarr 3 cannot
        resize them), with its codec, compressor and chunk shape kept.

        Raises
        ------
        UnsupportedDataError
            For arrays of more than one axis, or records.
        """
        from ..errors import StoreModeError, UnsupportedDataError
        from ..zarr_bridge import store_io
        from ..zarr_bridge.object_array import ObjectArrayV2
        from ..zarr_bridge.object_array_write import write_object_array_v2

        raw = self._raw
        store = raw._store
        if store.read_only:
            raise StoreModeError("cannot append: the store is open read-only", raw.path)
        if raw.ndim != 1 or raw.dtype.names is not None or raw.object_codec not in (
                "vlen-utf8", "vlen-bytes", "json2"):
            raise UnsupportedDataError("appending is supported for 1-D text arrays only",
                                       raw.path)
        meta = store_io.get_json(store, store_io.node_key(raw.path, ".zarray"))
        values = np.empty(raw.shape[0] + 1, dtype=object)
        values[:-1] = raw[...]
        values[-1] = arg
        docs = write_object_array_v2(store, raw.path, values, object_codec=raw.object_codec,
                                     compressor=meta.get("compressor"),
                                     chunks=tuple(meta["chunks"]),
                                     dimension_separator=raw.dimension_separator)
        self._raw = ObjectArrayV2(store, raw.path, docs[".zarray"])
        return self


# hdmf's registry of array types it must hand through unchanged on build (as it does for
# zarr.Array): without it, export would try to convert the whole lazy dataset to one string.
ObjectMapper.no_convert(ObjectDataset)


class _LazyResolverBase(_WrappedDataset):
    """Shared behaviour of the resolver datasets: a raw array plus the reader resolving paths."""

    def __init__(self, dataset, reader, **kwargs):
        super().__init__(dataset)
        self._reader = reader
        self._kwargs = kwargs

    @property
    def io(self):
        return self._reader.io

    def invert(self):
        """The resolver of the other kind (builders <-> containers) over the same data."""
        return self.get_inverse_class()(self._raw, self._reader, **self._kwargs)

    def _resolve(self, target):
        raise NotImplementedError

    @property
    def hdmf_zarr_location(self):
        """(store location, path) of the underlying array, for linking on write."""
        loc = self._reader.io.location
        return None if loc is None else (loc, self._kwargs.get("path", ""))


class _ReferenceDatasetMixin:
    @property
    def dtype(self):
        return "object"

    def append(self, arg):
        """Refused: hdmf's inherited ``append`` does nothing, which dropped the value silently.

        Raises
        ------
        UnsupportedDataError
            Always; appending references in place is not supported.
        """
        from ..errors import UnsupportedDataError

        raise UnsupportedDataError("cannot append to a reference dataset read from a store "
                                   "(not supported in place); export the file with the new "
                                   "rows instead", self._kwargs.get("path", ""))

    def __getitem__(self, key):
        raw = self._raw[key]
        where = self._kwargs.get("path", "")
        layout = self._reader.layout
        if isinstance(raw, np.ndarray) and raw.dtype.kind in "OUT" and raw.ndim > 0:
            out = np.empty(raw.shape, dtype=object)
            flat_out = out.reshape(-1)
            for i, v in enumerate(raw.reshape(-1)):
                flat_out[i] = self._resolve(layout.decode_dataset_reference(_plain(v), where))
            return list(out) if out.ndim == 1 else out
        if isinstance(raw, np.ndarray) and raw.ndim == 0:
            raw = raw[()]
        return self._resolve(layout.decode_dataset_reference(_plain(raw), where))


def _plain(v):
    if isinstance(v, np.str_):
        return str(v)
    return v


class _TableDatasetMixin:
    """Compound datasets: rows come back as structured arrays with object fields holding the
    resolved references (as h5py returns them)."""

    @property
    def dtype(self):
        """Field type names in order (``object`` for references), as hdmf's validator and
        h5py-backed table datasets give them."""
        return [d for _n, d in self._kwargs["fields"]]

    def __getitem__(self, key):
        raw = self._raw[key]
        fields = self._kwargs["fields"]
        ref_fields = {n for n, d in fields if d == "object"}
        where = self._kwargs.get("path", "")
        out_dtype = np.dtype([(n, object if d in ("object", "utf8", "ascii") else
                               np.dtype(d)) for n, d in fields])
        single = isinstance(raw, (np.void, tuple)) or (
            isinstance(raw, np.ndarray) and raw.ndim == 0)
        rows = [raw] if single else list(np.asarray(raw, dtype=object).reshape(-1)) \
            if raw.dtype.names is None else list(raw.reshape(-1))
        out = np.empty(len(rows), dtype=out_dtype)
        layout = self._reader.layout
        for i, row in enumerate(rows):
            if isinstance(row, np.ndarray) and row.ndim == 0:
                row = row[()]
            if isinstance(row, np.void):
                row = row.tolist()
            if not isinstance(row, (tuple, list)) or len(row) != len(fields):
                raise FormatError(f"row {i} is not a record of the {len(fields)} fields of "
                                  "its compound type", where)
            values = list(row)
            for j, (n, _d) in enumerate(fields):
                v = values[j]
                if n in ref_fields:
                    v = self._resolve(layout.decode_dataset_reference(_plain(v), where))
                elif isinstance(v, np.str_):
                    v = str(v)
                out[i][n] = v
        if single:
            return out[0]
        if isinstance(raw, np.ndarray):
            return out.reshape(raw.shape)
        return out


class _BuilderResolving:
    def _resolve(self, target):
        if target is None:
            return None
        return self._reader.resolve_target(target, self._kwargs.get("path", ""))


class _ContainerResolving:
    def _resolve(self, target):
        if target is None:
            return None
        cache = self._reader.containers
        container = cache.get(target)
        if container is None:
            builder = self._reader.resolve_target(target, self._kwargs.get("path", ""))
            try:
                container = self._reader.io.manager.construct(builder)
            except (HdmfZarrError, MemoryError):
                raise
            except ConstructError as exc:
                failure = construct_failure(exc)
            except Exception as exc:  # hdmf: e.g. "No data_type found" for untyped targets
                from ..errors import ContainerConstructionError

                failure = ContainerConstructionError(
                    f"reference target {target.path} cannot be made a container "
                    f"({type(exc).__name__}: {exc})", self._kwargs.get("path") or target.path)
                failure.__cause__ = exc
            else:
                cache[target] = container
                return container
            raise failure
        return container


class BuilderZarrReferenceDataset(_BuilderResolving, _ReferenceDatasetMixin, _LazyResolverBase,
                                  BuilderResolver):
    """A reference dataset whose elements resolve to builders."""

    @classmethod
    def get_inverse_class(cls):
        return ContainerZarrReferenceDataset


class ContainerZarrReferenceDataset(_ContainerResolving, _ReferenceDatasetMixin,
                                    _LazyResolverBase, ContainerResolver):
    """A reference dataset whose elements resolve to containers."""

    @classmethod
    def get_inverse_class(cls):
        return BuilderZarrReferenceDataset


class BuilderZarrTableDataset(_BuilderResolving, _TableDatasetMixin, _LazyResolverBase,
                              BuilderResolver):
    """A compound dataset whose reference fields resolve to builders."""

    @classmethod
    def get_inverse_class(cls):
        return ContainerZarrTableDataset


class ContainerZarrTableDataset(_ContainerResolving, _TableDatasetMixin, _LazyResolverBase,
                                ContainerResolver):
    """A compound dataset whose reference fields resolve to containers."""

    @classmethod
    def get_inverse_class(cls):
        return BuilderZarrTableDataset
