"""Public helpers of hdmf_zarr: :class:`ZarrDataIO` (per-dataset storage settings) and
:class:`ZarrReference` (the L2 object-reference value).

The import path ``hdmf_zarr.utils.ZarrReference`` is part of the on-disk format: pickled reference
arrays of legacy L2 files name it (FORMAT.md 2.5). Those are decoded by the restricted decoder of
``hdmf_zarr.format.safe_pickle``, which never imports this module for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
from hdmf.data_utils import DataIO
from hdmf.spec import SpecReader, SpecWriter
from hdmf.utils import docval, getargs, popargs

from .format.layout import Layout

__all__ = ["ZarrDataIO", "ZarrReference", "ZarrSpecWriter", "ZarrSpecReader"]


class ZarrReference(dict):
    """An object reference as stored in layout L2 (FORMAT.md 2.5).

    A ``dict`` with the keys ``source`` (store location relative to the referencing store, ``"."``
    for the same store), ``path`` (absolute object path inside that store), ``object_id`` and
    ``source_object_id`` (informational, never used to resolve).

    Parameters
    ----------
    source : str
        Store location of the target, ``"."`` for this store.
    path : str
        Absolute path of the target group or dataset (``/general/devices/probe``).
    object_id : str, optional
        ``object_id`` attribute of the target.
    source_object_id : str, optional
        ``object_id`` of the root of the store holding the target.
    """

    def __init__(self, source: str = ".", path: str = "/", object_id: str | None = None,
                 source_object_id: str | None = None) -> None:
        super().__init__(source=source, path=path, object_id=object_id,
                         source_object_id=source_object_id)

    source = property(lambda self: self["source"], doc="store location of the target")
    path = property(lambda self: self["path"], doc="absolute path of the target")
    object_id = property(lambda self: self.get("object_id"), doc="object_id of the target")
    source_object_id = property(lambda self: self.get("source_object_id"),
                                doc="object_id of the root of the target's store")


class ZarrDataIO(DataIO):
    """Wrap dataset data to choose how it is stored in Zarr (docs/large-data.md).

    Parameters
    ----------
    data : array-like, iterator, dask array, zarr.Array or h5py.Dataset
        The data to write. A ``GenericDataChunkIterator`` or a ``DataChunkIterator`` is written
        buffer by buffer; a dask array is stored through dask (``hdmf_zarr.write.dask``).
    chunks : tuple of int or True, optional
        Chunk shape, one positive entry per axis, in elements (not bytes), never larger than
        the data. None or True picks the default: the whole array, its longest axis halved
        until a chunk holds at most 4 MiB (so 2-4 MiB chunks for large arrays).
    fillvalue : scalar, optional
        Value read for elements that were never written.
    compressors : list of codecs, True or False, optional
        The 0.14 spelling: bytes-to-bytes codecs applied in order (Zarr 3 style); excludes
        ``compressor``. In L2 the last one is the compressor and the others become filters.
    compressor : codec, True or False, optional
        The 0.13 spelling: one compressor, a numcodecs codec
        (``numcodecs.Blosc(cname="zstd", clevel=5)``) or a Zarr 3 bytes-to-bytes codec
        (``zarr.codecs.BloscCodec(...)``); each is translated to the other layout where an
        equivalent exists (``hdmf_zarr.write.codecs``). ``True`` (or None) asks for the default:
        Blosc lz4 level 5 with shuffle in L2 (FORMAT.md 2.3), Zarr's default (zstd level 0) in
        L3; ``False`` stores chunks uncompressed. An array-to-array codec given here (zarr 2 took
        ``numcodecs.PackBits``) is moved to the end of the filters with a warning.
    filters : list of codecs, optional
        Codecs applied before the compressor (``numcodecs.Delta``, ``numcodecs.Shuffle``...).
    serializer : codec, optional
        The array-to-bytes codec of layout L3 (``zarr.codecs.BytesCodec``,
        ``numcodecs.PCodec``...). Not available in L2 (except the little-endian ``BytesCodec``
        that L2 implies).
    shards : tuple of int or bool, optional
        Layout L3 only: shard shape, a multiple of the chunk shape on every axis; every shard is
        one stored object holding many chunks (Zarr's ``sharding_indexed`` codec, FORMAT.md 3.8).
        None (default) applies the policy of ``hdmf_zarr.write.chunking``: arrays of at most
        256 chunks or of unknown final size are not sharded; larger ones get shards of
        ``clamp(nbytes / 256, 64 MiB, 512 MiB)``, so an array of up to 128 GiB is at most about
        256 stored objects. ``"auto"`` (0.14's spelling) or ``True`` asks for the policy
        explicitly, ``False`` disables sharding.
    link_data : bool
        When ``data`` is a ``zarr.Array`` of another store, write an external link to it
        (FORMAT.md 3.8) instead of copying.

    The positional order is 0.14's (``data, chunks, fillvalue, compressors, compressor, ...``);
    0.13 code passing a single codec as the fourth positional argument gets the same storage,
    as ``compressors`` accepts one codec. :meth:`from_h5py_dataset` keeps an HDF5 dataset's
    chunks and filters.

    Raises
    ------
    UnsupportedDataError
        On a shard or chunk shape with an entry that is not a positive integer, a ``shards``
        string other than ``"auto"``, or a dask
        array of unknown chunk sizes. Shapes are checked against the data, and codecs against
        the layout, when ``write`` starts and before anything is stored (the errors then name
        the dataset path).
    """

    @docval({"name": "data", "type": (np.ndarray, list, tuple, Iterable, "array_data"),
             "doc": "the data to be written", "default": None},
            {"name": "chunks", "type": (list, tuple, bool),
             "doc": "chunk shape, or True for automatic chunking", "default": None},
            {"name": "fillvalue", "type": None,
             "doc": "value returned for unwritten elements", "default": None},
            {"name": "compressors", "type": None,
             "doc": "list of bytes-to-bytes codecs (Zarr 3 style), True for the default, or "
                    "False for none", "default": None},
            {"name": "compressor", "type": None,
             "doc": "numcodecs or Zarr 3 compressor, True for the default, or False for none",
             "default": None},
            {"name": "filters", "type": (list, tuple),
             "doc": "numcodecs or Zarr 3 codecs applied before compression", "default": None},
            {"name": "serializer", "type": None,
             "doc": "array-to-bytes codec (layout L3)", "default": None},
            {"name": "shards", "type": (list, tuple, bool, str),
             "doc": "shard shape (layout L3), 'auto' or True for the default policy, False for "
                    "none", "default": None},
            {"name": "link_data", "type": bool,
             "doc": "link to a zarr.Array of another store instead of copying it",
             "default": False},
            allow_positional=True)
    def __init__(self, **kwargs: Any) -> None:
        (chunks, fillvalue, compressor, filters, link_data, compressors, serializer,
         shards) = popargs("chunks", "fillvalue", "compressor", "filters", "link_data",
                           "compressors", "serializer", "shards", kwargs)
        data = getargs("data", kwargs)
        from .write.dask import is_dask_array

        if isinstance(shards, str):
            if shards != "auto":
                from .errors import UnsupportedDataError

                raise UnsupportedDataError(
                    f"ZarrDataIO: shards must be a shape, 'auto', True or False, not {shards!r}",
                    "ZarrDataIO")
            shards = True  # "auto": the sharding policy of hdmf_zarr.write.chunking
        if is_dask_array(data):
            if any(c != c for dim in data.chunks for c in dim):
                # hdmf takes len() of the data while building, which dask refuses then
                from .errors import UnsupportedDataError

                raise UnsupportedDataError(
                    "ZarrDataIO: the dask array has unknown chunk sizes (nan); call its "
                    "compute_chunk_sizes() first", "ZarrDataIO")
            # hdmf's DataIO type check does not know dask arrays; the writer stores them
            super().__init__()
            self.data = data
        else:
            super().__init__(data=data)
        self.__io_settings = {}
        for name, value in (("chunks", chunks), ("shards", shards)):
            if isinstance(value, (list, tuple)):
                _check_positive_shape(value, name)
                value = tuple(int(v) for v in value)
            if value is not None:
                self.__io_settings[name] = value
        if fillvalue is not None:
            self.__io_settings["fillvalue"] = fillvalue
        if compressor is not None:
            self.__io_settings["compressor"] = compressor
        if compressors is not None:
            self.__io_settings["compressors"] = (compressors if isinstance(compressors, bool)
                                                 else list(compressors)
                                                 if isinstance(compressors, (list, tuple))
                                                 else [compressors])
        if filters is not None:
            self.__io_settings["filters"] = list(filters)
        if serializer is not None:
            self.__io_settings["serializer"] = serializer
        self.__link_data = link_data

    def __iter__(self):
        """Iterate over the data along its first axis. Zarr-Python 3 arrays have no
        ``__iter__`` (hdmf's ``DataIO`` calls it), so Python's sequence protocol is used."""
        if self.data is not None and not hasattr(self.data, "__iter__") and \
                hasattr(self.data, "__getitem__"):
            return (self.data[i] for i in range(int(self.data.shape[0])))
        return super().__iter__()

    @property
    def io_settings(self) -> dict:
        """The storage settings given (keys ``chunks``, ``fillvalue``, ``compressor``,
        ``compressors``, ``filters``, ``serializer``, ``shards``; only those given)."""
        return self.__io_settings

    @property
    def link_data(self) -> bool:
        """Whether a ``zarr.Array`` given as data is linked rather than copied."""
        return self.__link_data

    def get_io_params(self) -> dict:
        """Keyword arguments that rebuild this wrapper around other data (used by hdmf)."""
        params = dict(self.__io_settings)
        params["link_data"] = self.__link_data
        return params

    def __repr__(self) -> str:
        parts = []
        shape = getattr(self.data, "shape", None)
        if shape is None and isinstance(self.data, (list, tuple)):
            shape = (len(self.data),)
        if shape is not None:
            parts.append(f"shape={tuple(int(s) for s in shape)!r}")
        dtype = getattr(self.data, "dtype", None)
        if dtype is not None:
            parts.append(f"dtype={dtype}")
        if self.data is not None and shape is None:
            parts.append(f"data={type(self.data).__name__}")
        for key, value in self.__io_settings.items():
            parts.append(f"{key}={value!r}")
        if self.__link_data:
            parts.append("link_data=True")
        return f"{type(self).__name__}({', '.join(parts)})"

    @staticmethod
    def is_h5py_dataset(obj: Any) -> bool:
        """True when ``obj`` is an ``h5py.Dataset``."""
        try:
            import h5py
        except ImportError:  # pragma: no cover - h5py is a dependency
            return False
        return isinstance(obj, h5py.Dataset)

    @staticmethod
    def hdf5_to_zarr_filters(h5dataset: Any) -> list:
        """The Zarr 3 codecs equivalent to an HDF5 dataset's filter pipeline (FORMAT.md 6).

        Parameters
        ----------
        h5dataset : h5py.Dataset
            Only its creation property list and dtype are read, never its data.

        Returns
        -------
        list of zarr.abc.codec.BytesBytesCodec
            In pipeline order (shuffle before the compressor); empty for an unfiltered dataset.
            A layout L2 write translates them to numcodecs (``hdmf_zarr.write.codecs``).

        Raises
        ------
        TypeError
            When ``h5dataset`` is not an ``h5py.Dataset``.

        Warns
        -----
        UserWarning
            When filters without a Zarr counterpart are dropped (szip, lzf, fletcher32...).
        """
        from .write.hdf5_filters import codecs_from_h5py

        if not ZarrDataIO.is_h5py_dataset(h5dataset):
            raise TypeError(f"expected an h5py.Dataset, not {type(h5dataset).__name__}")
        return list(codecs_from_h5py(h5dataset, 3)["compressors"])

    @classmethod
    def from_h5py_dataset(cls, h5dataset: Any, **kwargs: Any) -> ZarrDataIO:
        """A ``ZarrDataIO`` over an HDF5 dataset that keeps its storage settings.

        The dataset's chunk shape becomes ``chunks``, its filters the ``compressors``
        (:meth:`hdf5_to_zarr_filters`), and a non-zero numeric fill value ``fillvalue``. The data
        is read only when written, chunk by chunk.

        Parameters
        ----------
        h5dataset : h5py.Dataset
        **kwargs
            Any ``ZarrDataIO`` argument; each one given replaces the value taken from the
            dataset (``compressor=`` or ``compressors=`` replace the mapped filters).

        Raises
        ------
        TypeError
            When ``h5dataset`` is not an ``h5py.Dataset``.
        """
        from .write.hdf5_filters import codecs_from_h5py

        if not cls.is_h5py_dataset(h5dataset):
            raise TypeError(f"expected an h5py.Dataset, not {type(h5dataset).__name__}")
        mapped = codecs_from_h5py(h5dataset, 3)
        if "chunks" not in kwargs and mapped.get("chunks"):
            kwargs["chunks"] = tuple(mapped["chunks"])
        if "compressor" not in kwargs and "compressors" not in kwargs and mapped["compressors"]:
            kwargs["compressors"] = list(mapped["compressors"])
        fill = mapped.get("fill_value")
        if "fillvalue" not in kwargs and h5dataset.dtype.kind in "biuf" and \
                fill is not None and np.ndim(fill) == 0 and fill != 0:
            kwargs["fillvalue"] = fill
        return cls(data=h5dataset, **kwargs)


def _check_positive_shape(value, name: str) -> None:
    from .errors import UnsupportedDataError

    try:
        ok = all(int(v) == v and int(v) > 0 for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UnsupportedDataError(f"ZarrDataIO: {name} {tuple(value)!r} must be positive "
                                   "integers, one per axis", "ZarrDataIO")


class ZarrSpecWriter(SpecWriter):
    """Write cached specifications into a namespace-version group of a store (FORMAT.md 2.6,
    3.6): each spec source is one text array holding compact JSON.

    Parameters
    ----------
    store : zarr.abc.store.Store
    group_path : str
        Path of the namespace-version group (``/specifications/core/2.11.0``).
    layout : hdmf_zarr.format.layout.Layout
    writer : hdmf_zarr.write.writer.BuilderWriter, optional
        Batch the spec arrays into this writer's store items instead of writing each at once.
    """

    def __init__(self, store: Any, group_path: str, layout: Layout,
                 writer: Any = None) -> None:
        self._store = store
        self._group = "/" + group_path.strip("/")
        self._layout = layout
        self._writer = writer

    @staticmethod
    def stringify(spec: Any) -> str:
        """Compact JSON text of a spec."""
        return json.dumps(spec, separators=(",", ":"))

    def _write(self, doc, name: str) -> None:
        path = f"{self._group}/{name}"
        if self._writer is not None:
            self._writer.write_text_scalar(path, self.stringify(doc))
            return
        from .write.specs import write_text_scalar

        write_text_scalar(self._store, path, self.stringify(doc), self._layout)

    def write_spec(self, spec: Any, path: str) -> None:
        """Write one spec source (``path`` is the source name without extension)."""
        self._write(spec, path)

    def write_namespace(self, namespace: Any, path: str) -> None:
        """Write the namespace document ``{"namespaces": [namespace]}``."""
        self._write({"namespaces": [namespace]}, path)


class ZarrSpecReader(SpecReader):
    """Read cached specifications from a namespace-version group of a store.

    Parameters
    ----------
    store : zarr.abc.store.Store
    group_path : str
        Path of the namespace-version group.
    layout : hdmf_zarr.format.layout.Layout
    source : str, optional
        Description of the location, used by hdmf in messages.
    documents : dict, optional
        Consolidated node documents (node path relative to the root -> document); spec arrays
        found there are opened without reading their documents again.
    """

    def __init__(self, store: Any, group_path: str, layout: Layout, source: str | None = None,
                 documents: dict | None = None) -> None:
        super().__init__(source=source or group_path)
        self._store = store
        self._group = "/" + group_path.strip("/")
        self._layout = layout
        self._documents = documents
        self._cache: Any = None

    def _read(self, name: str):
        from .read.specs import read_text_scalar

        path = f"{self._group}/{name}"
        key = path.strip("/")
        doc = None
        if self._documents is not None:
            doc = self._documents.get(self._layout.consolidated_array_key(key))
        text = read_text_scalar(self._store, path, self._layout, doc)
        from .errors import FormatError

        try:
            return json.loads(text)
        except ValueError as exc:
            raise FormatError(f"cached specification is not valid JSON ({exc})", path) from None

    def read_spec(self, spec_path: str) -> Any:
        """The spec source ``spec_path`` as a dict."""
        return self._read(spec_path)

    def read_namespace(self, ns_path: str) -> Any:
        """The list of namespace dicts of the namespace document."""
        if self._cache is None:
            self._cache = self._read(ns_path)
        return self._cache["namespaces"]
