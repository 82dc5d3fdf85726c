"""Public helpers of hdmf_zarr: :class:`ZarrDataIO` (per-dataset storage settings) and
:class:`ZarrReference` (the L2 object-reference value).

The import path ``hdmf_zarr.utils.ZarrReference`` is part of the on-disk format: pickled reference
arrays of legacy L2 files name it (FORMAT.md 2.5). Those are decoded by the restricted decoder of
``hdmf_zarr.format.safe_pickle``, which never imports this module for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
from hdmf.data_utils import DataIO
from hdmf.spec import SpecReader, SpecWriter
from hdmf.utils import docval, getargs, popargs

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
                 source_object_id: str | None = None):
        super().__init__(source=source, path=path, object_id=object_id,
                         source_object_id=source_object_id)

    source = property(lambda self: self["source"], doc="store location of the target")
    path = property(lambda self: self["path"], doc="absolute path of the target")
    object_id = property(lambda self: self.get("object_id"), doc="object_id of the target")
    source_object_id = property(lambda self: self.get("source_object_id"),
                                doc="object_id of the root of the target's store")


class ZarrDataIO(DataIO):
    """Wrap dataset data to choose how it is stored in Zarr.

    Parameters
    ----------
    data : array-like, iterator, zarr.Array or h5py.Dataset
        The data to write.
    chunks : tuple of int or bool, optional
        Chunk shape, one entry per axis (elements, not bytes); True or None picks a default.
    fillvalue : scalar, optional
        Value returned for elements that were never written.
    compressor : numcodecs.abc.Codec or zarr codec, optional
        Compressor; ``False`` stores chunks uncompressed.
    filters : list of numcodecs.abc.Codec, optional
        Filters applied before the compressor (e.g. ``Delta``).
    link_data : bool
        When ``data`` is a ``zarr.Array`` of another store, write an external link to it instead
        of copying.
    """

    @docval({"name": "data", "type": (np.ndarray, list, tuple, Iterable, "array_data"),
             "doc": "the data to be written", "default": None},
            {"name": "chunks", "type": (list, tuple, bool),
             "doc": "chunk shape, or True for automatic chunking", "default": None},
            {"name": "fillvalue", "type": None,
             "doc": "value returned for unwritten elements", "default": None},
            {"name": "compressor", "type": None,
             "doc": "numcodecs compressor, or False for none", "default": None},
            {"name": "filters", "type": (list, tuple),
             "doc": "numcodecs filters applied before compression", "default": None},
            {"name": "link_data", "type": bool,
             "doc": "link to a zarr.Array of another store instead of copying it", "default": False},
            allow_positional=True)
    def __init__(self, **kwargs):
        chunks, fillvalue, compressor, filters, link_data = popargs(
            "chunks", "fillvalue", "compressor", "filters", "link_data", kwargs)
        data = getargs("data", kwargs)
        super().__init__(data=data)
        self.__io_settings = {}
        if chunks is not None:
            self.__io_settings["chunks"] = chunks
        if fillvalue is not None:
            self.__io_settings["fillvalue"] = fillvalue
        if compressor is not None:
            self.__io_settings["compressor"] = compressor
        if filters is not None:
            self.__io_settings["filters"] = list(filters)
        self.__link_data = link_data

    @property
    def io_settings(self) -> dict:
        """The storage settings given (keys ``chunks``, ``fillvalue``, ``compressor``, ``filters``)."""
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

    def __init__(self, store, group_path: str, layout, writer=None):
        self._store = store
        self._group = "/" + group_path.strip("/")
        self._layout = layout
        self._writer = writer

    @staticmethod
    def stringify(spec) -> str:
        """Compact JSON text of a spec."""
        return json.dumps(spec, separators=(",", ":"))

    def _write(self, doc, name: str) -> None:
        path = f"{self._group}/{name}"
        if self._writer is not None:
            self._writer.write_text_scalar(path, self.stringify(doc))
            return
        from .write.specs import write_text_scalar

        write_text_scalar(self._store, path, self.stringify(doc), self._layout)

    def write_spec(self, spec, path):
        """Write one spec source (``path`` is the source name without extension)."""
        self._write(spec, path)

    def write_namespace(self, namespace, path):
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

    def __init__(self, store, group_path: str, layout, source: str | None = None,
                 documents: dict | None = None):
        super().__init__(source=source or group_path)
        self._store = store
        self._group = "/" + group_path.strip("/")
        self._layout = layout
        self._documents = documents
        self._cache = None

    def _read(self, name: str):
        from .read.specs import read_text_scalar

        path = f"{self._group}/{name}"
        key = path.strip("/")
        doc = None
        if self._documents is not None:
            doc = self._documents.get(key if self._layout.zarr_format == 3 else key + "/.zarray")
        text = read_text_scalar(self._store, path, self._layout, doc)
        from .errors import FormatError

        try:
            return json.loads(text)
        except ValueError as exc:
            raise FormatError(f"cached specification is not valid JSON ({exc})", path) from None

    def read_spec(self, spec_path):
        """The spec source ``spec_path`` as a dict."""
        return self._read(spec_path)

    def read_namespace(self, ns_path):
        """The list of namespace dicts of the namespace document."""
        if self._cache is None:
            self._cache = self._read(ns_path)
        return self._cache["namespaces"]
