"""Write a builder tree into a store in one layout (DESIGN.md, "The flow of data").

The writer walks the builder tree once. Group documents are collected and written in one batch at
the end; datasets are written as they are met: numeric, string and structured arrays through
Zarr-Python 3, the L2 object arrays that Zarr 3 cannot create (references, byte strings,
compounds with references or text) through ``zarr_bridge.object_array``. Iterators get their
array during the walk and are drained at the end, once the group documents are stored: one after
the other, or together with ``exhaust_dci=False`` (``write.iterators``); with
``number_of_jobs > 1`` ``GenericDataChunkIterator`` data (and large datasets of an export) are
written at the end by worker processes (``write.parallel``), and dask arrays are stored through
dask (``write.dask``). Arrays are created by ``write.arrays`` (chunk and shard shapes from
``write.chunking``, codecs from ``write.codecs``). Every L2/L3 difference is asked of the
:class:`~hdmf_zarr.format.layout.Layout`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from hdmf.build import Builder, DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder
from hdmf.container import AbstractContainer
from hdmf.data_utils import AbstractDataChunkIterator, DataIO

from ..errors import (
    HdmfZarrError,
    LinkResolutionError,
    ReferenceResolutionError,
    UnstorableValueError,
    UnsupportedDataError,
)
from ..format.dtypes import DataKind, classify
from ..format.layout import Layout
from ..format.names import check_name, join_path
from ..zarr_bridge import store_io
from .codecs import to_numcodecs
from .data import compound_rows, data_shape, encode_block, is_lazy_array
from .iterators import IteratorWrites
from .options import BLOCK_BYTES, LARGE_DATASET_BYTES, WriteOptions
from .paths import builder_path, relative_source, root_of

__all__ = ["BuilderWriter", "WriteOptions", "builder_path", "BLOCK_BYTES", "LARGE_DATASET_BYTES"]

logger = logging.getLogger(__name__)


class BuilderWriter(IteratorWrites):
    """Write builders into ``store`` following ``layout``.

    Parameters
    ----------
    io : hdmf_zarr.backend.ZarrIO
        The IO object: gives ``get_written``/``_set_written`` and the store location.
    store : zarr.abc.store.Store
    layout : Layout
    link_data : bool
        Link (True) or copy (False) datasets whose data is a Zarr array of another store.
    exhaust_dci : bool
        Drain each DataChunkIterator at once (True) or all together at the end (False).
    export_source : str, optional
        Location of the file being exported from; data stored there is copied, never linked.
    options : WriteOptions, optional
        Parallel, progress and large-dataset settings.
    """

    def __init__(self, io: Any, store: Any, layout: Layout, *, link_data: bool = True,
                 exhaust_dci: bool = True, export_source: str | None = None,
                 options: WriteOptions | None = None) -> None:
        self.io = io
        self.store = store
        self.layout = layout
        self.link_data = link_data
        self.exhaust_dci = exhaust_dci
        self.export_source = export_source
        self._group_docs: dict[str, dict] = {}
        self._dataset_links: dict[str, list] = {}
        #: store items (key -> bytes) waiting to be written in one batch
        self._items: dict[str, bytes] = {}
        self._items_bytes = 0
        #: every node document written (store key -> document), for consolidated metadata;
        #: None for arrays Zarr wrote itself (their documents are fetched once at the end)
        self.documents: dict[str, dict | None] = io._documents
        self._dci_queue = deque()
        self.options = options or WriteOptions()
        self._parallel_jobs = []
        self._root: Builder | None = None
        self._root_object_id: str | None = None

    # ------------------------------------------------------------------ entry points
    def write_root(self, root: GroupBuilder,
                   before_write: Callable[[], Any] | None = None) -> None:
        """Write a whole file: the root group builder and everything below it.

        ``before_write``, when given, is called once the tree is checked and before the first
        key is stored (the backend sets its write-in-progress marker there).
        """
        self._root = root
        self._root_object_id = root.attributes.get("object_id")
        self.check_tree(root, "/")
        if before_write is not None:
            before_write()
        if not self.io.get_written(root):
            # the root's attributes (namespace, data type, .specloc) are stored first: a write
            # interrupted half-way leaves a root that mode r- can build a file from
            # (docs/large-data.md); the root document is written again, complete, at the end
            attrs = self._encode_attributes(root.attributes, "/")
            if self.io.spec_location is not None:
                attrs[".specloc"] = self.io.spec_location
            for name, doc in self.layout.group_documents(attrs).items():
                self._put_document(name, doc)
            self._write_items()
        try:
            self.write_group(root, "/")
        except BaseException:
            # keep the store openable: the documents of everything met so far are written
            self._write_documents()
            raise
        self.flush()

    def check_tree(self, builder: GroupBuilder, path: str, spec: Any = None,
                   _specs: dict | None = None) -> None:
        """Validate names, attributes and datasets (``write.checks``) of everything not yet
        written, before the first byte is stored, so that bad input leaves the store as it was.

        Raises
        ------
        InvalidNameError, UnstorableValueError, UnsupportedDataError
        """
        from .checks import check_codecs, check_dataset, spec_of, sub_spec
        from .chunking import check_settings

        type_map = getattr(getattr(self.io, "manager", None), "type_map", None)
        _specs = {} if _specs is None else _specs
        own = spec_of(type_map, builder.attributes, _specs)
        spec = own if own is not None else spec
        if not self.io.get_written(builder):
            self._encode_attributes(builder.attributes, path)
        for name, sub in builder.groups.items():
            self.check_tree(sub, join_path(path, self._check_name(name, path)),
                            sub_spec(spec, name, "group", _specs), _specs)
        for name, sub in builder.datasets.items():
            sub_path = join_path(path, self._check_name(name, path))
            if not self.io.get_written(sub):
                self._encode_attributes(sub.attributes, sub_path)
                sub_own = spec_of(type_map, sub.attributes, _specs)
                if sub_own is None:
                    sub_own = sub_spec(spec, name, "dataset", _specs)
                check_dataset(sub, sub_path, sub_own, strict=self.export_source is None)
                check_codecs(sub.data, sub_path, self.layout)
                if not self.options.large_dataset_settings:
                    check_settings(sub.data, sub_path, self.layout)
        for lb in builder.links.values():
            self._check_name(lb.name, path)

    def _check_name(self, name: str, path: str) -> str:
        """``check_name`` with the rules of this store's kind (Windows file names for a local
        directory, FORMAT.md notes)."""
        from ..storage._atomic import local_root

        directory = local_root(self.store) is not None and \
            getattr(self.store, "hdmf_zarr_staged_zip", None) is None  # a zip holds any name
        return check_name(name, path, directory=directory)

    def flush(self) -> None:
        """Write the collected group documents and batched items; drain queued iterators; run
        the parallel writes."""
        self._write_documents()
        self._drain_queue()
        self._run_parallel()

    def _write_documents(self) -> None:
        stale = []
        for path, docs in self._group_docs.items():
            for name, doc in docs.items():
                self._put_document(store_io.node_key(path, name), doc)
            # zarr creates an empty .zattrs for the parents of the arrays it creates;
            # FORMAT.md 2.1 has none on groups without attributes
            for name in self.layout.stale_group_documents(docs):
                key = store_io.node_key(path, name)
                stale.append(key)
                self.documents.pop(key, None)
        self._write_items()
        store_io.delete_keys(self.store, stale)
        self._group_docs.clear()

    # ------------------------------------------------------------------ batched store items
    #: items are written once this many bytes are waiting
    BATCH_BYTES = 64 * 2**20

    def _put_items(self, items: dict[str, bytes], documents: dict[str, dict]) -> None:
        self._items.update(items)
        self._items_bytes += sum(len(v) for v in items.values())
        self.documents.update(documents)
        if self._items_bytes >= self.BATCH_BYTES:
            self._write_items()

    def _put_document(self, key: str, doc: dict) -> None:
        self._put_items({key: store_io.dumps_json(doc)}, {key: doc})

    def _write_items(self) -> None:
        if self._items:
            store_io.set_many(self.store, self._items)
        self._items = {}
        self._items_bytes = 0

    # ------------------------------------------------------------------ groups
    def write_group(self, builder: GroupBuilder, path: str) -> None:
        """Write a group builder at ``path`` and, recursively, its children."""
        written = self.io.get_written(builder)
        for name, sub in builder.groups.items():
            self.write_group(sub, join_path(path, check_name(name, path)))
        for name, sub in builder.datasets.items():
            self.write_dataset(sub, join_path(path, check_name(name, path)))
        dataset_links = self._dataset_links.pop(path, [])
        new_links = [lb for lb in builder.links.values() if not self.io.get_written(lb)]
        if written and not new_links and not dataset_links:
            return
        links = list(dataset_links)
        for lb in builder.links.values():
            check_name(lb.name, path)
            if self._copy_instead_of_link(lb):
                # a dataset of another file that is to be copied (link_data=False, or a target
                # that belongs to no store, as export rebuilds them)
                self.write_dataset(lb.builder, join_path(path, lb.name))
            else:
                links.append(self._link_entry(lb, path))
            self.io._set_written(lb)
        attrs = self._encode_attributes(builder.attributes, path)
        if path == "/" and self.io.spec_location is not None:
            attrs[".specloc"] = self.io.spec_location
        if links:
            attrs[self.layout.links_attr] = links
        self._group_docs[path] = self.layout.group_documents(attrs)
        self.io._set_written(builder)

    def _encode_attributes(self, attributes: dict, path: str) -> dict:
        out = {}
        for key, value in attributes.items():
            if not isinstance(key, str) or key == "":
                raise UnstorableValueError(f"attribute name {key!r} is not a non-empty string",
                                           path)
            out[key] = self.layout.encode_attribute(value, f"{path}@{key}",
                                                    self._reference_target)
        return out

    # ------------------------------------------------------------------ links and references
    def _in_this_file(self, target: Builder) -> bool:
        root = root_of(target)
        if root is self._root:
            return True
        src = target.source
        return src is not None and (src == self.io.source or src == self.export_source)

    def _copy_instead_of_link(self, link: LinkBuilder) -> bool:
        target = link.builder
        if not isinstance(target, DatasetBuilder) or self._in_this_file(target):
            return False
        return not self.link_data or target.source is None

    def _link_entry(self, link: LinkBuilder, parent_path: str) -> dict:
        target = link.builder
        if self._in_this_file(target):
            return self.layout.encode_link(link.name, ".", builder_path(target))
        location = target.source
        if location is None:
            raise LinkResolutionError(
                f"link {link.name!r} points to {target.name!r}, which belongs to no file",
                join_path(parent_path, link.name))
        return self.layout.encode_link(link.name, self._relative_source(location, link.name),
                                       builder_path(target))

    def _relative_source(self, location: str, where: str) -> str:
        """Relative path from this store's location to another store (FORMAT.md 3.8)."""
        return relative_source(location, self.io.location, where)

    def _reference_target(self, value: Any) -> tuple[str, str | None, str | None]:
        """``(path, object_id, root_object_id)`` of the target of a reference value."""
        target = value.builder if isinstance(value, ReferenceBuilder) else value
        if isinstance(target, LinkBuilder):
            target = target.builder
        if isinstance(target, AbstractContainer):
            # a container kept as is by hdmf's ObjectMapper (the reference field of a numpy
            # structured array): its builder, as HDF5IO resolves it
            manager = getattr(self.io, "manager", None)
            if manager is not None:
                target = manager.build(target)
        if not isinstance(target, Builder):
            raise UnstorableValueError(f"reference value {value!r} is not a builder", "")
        if not self._in_this_file(target):
            raise ReferenceResolutionError(
                f"reference to {target.name!r} of another file ({target.source}); references "
                "across stores are not supported (a link can point into another store)",
                builder_path(target))
        return builder_path(target), target.attributes.get("object_id"), self._root_object_id

    def _encode_ref_element(self, value: Any) -> Any:
        if value is None:
            return self.layout.null_dataset_reference()
        return self.layout.encode_dataset_reference(*self._reference_target(value))

    # ------------------------------------------------------------------ datasets
    def write_dataset(self, builder: DatasetBuilder, path: str) -> None:
        """Write one dataset builder at ``path``."""
        if self.io.get_written(builder):
            return
        data = builder.data
        settings: dict[str, Any] = {}
        link_data = self.link_data
        if isinstance(data, DataIO):
            settings = dict(getattr(data, "io_settings", {}) or {})
            if hasattr(data, "link_data"):
                link_data = data.link_data or (link_data and not hasattr(data, "io_settings"))
            data = data.data
        if self._maybe_link_dataset(builder, data, path, link_data):
            self.io._set_written(builder)
            return
        explicit = set(settings)
        if not settings and _is_h5py_dataset(data):
            settings = self._settings_from_hdf5(data)
        if self.options.large_dataset_settings:
            settings = self._with_large_settings(settings, explicit, data)
        attrs = self._encode_attributes(builder.attributes, path)
        where = path
        try:
            if isinstance(data, AbstractDataChunkIterator):
                self._write_iterator(builder, data, path, attrs, settings)
            else:
                self._write_data(builder, data, path, attrs, settings)
        except HdmfZarrError:
            raise
        except Exception as exc:
            raise UnsupportedDataError(f"cannot write dataset: {type(exc).__name__}: {exc}",
                                       where) from exc
        self.io._set_written(builder)

    def _maybe_link_dataset(self, builder: DatasetBuilder, data: Any, path: str,
                            link_data: bool) -> bool:
        """Write a link instead of the data when the data is a Zarr array of another store."""
        from ..storage import array_location

        loc = array_location(data)
        if loc is None:
            return False
        location, target_path = loc
        if self.export_source is not None and location == self.export_source:
            return False  # exporting: data of the source file is copied
        same_store = location == self.io.location
        if not link_data and not same_store:
            return False
        parent_path, name = path.rsplit("/", 1)
        parent_path = parent_path or "/"
        if same_store and target_path == path:
            return True  # the dataset is already here
        source = "." if same_store else self._relative_source(location, path)
        self._dataset_links.setdefault(parent_path, []).append(
            self.layout.encode_link(name, source, target_path))
        return True

    def _dataset_attrs(self, attrs: dict, kind: Any, scalar: bool,
                       labels: tuple | None = None) -> dict:
        return self.layout.dataset_attributes(attrs, kind, scalar, labels)

    def _write_data(self, builder: Any, data: Any, path: str, attrs: dict,
                    settings: dict) -> None:
        lazy = is_lazy_array(data)
        array_dtype = None
        if lazy:
            try:
                array_dtype = np.dtype(data.dtype)
            except TypeError:
                array_dtype = None
        if isinstance(data, (ReferenceBuilder, Builder)):
            kind = DataKind("reference", name="object")
        else:
            kind = classify(builder.dtype, None if lazy else data, array_dtype=array_dtype)
        if kind.kind == "unknown":
            raise UnstorableValueError(f"cannot store data of element type {kind.name}", path)
        shape = tuple(int(s) for s in data.shape) if lazy else data_shape(data, kind)
        scalar = shape == ()
        if scalar and lazy:
            data, lazy = data[()], False
        if kind.kind == "compound":
            self._write_compound(data, shape, kind, path, attrs, settings, lazy,
                                 self._dimension_names(builder, path, shape))
            return
        stored_shape = self.layout.stored_shape(shape)
        labels = self._dimension_names(builder, path, shape)
        full_attrs = self._dataset_attrs(attrs, kind, scalar, labels)
        codec = self.layout.object_codec(kind)
        if codec is not None:
            block = self._read_all(data, lazy)
            values = encode_block(kind, block, self.layout, self._encode_ref_element, path)
            values = values.reshape(stored_shape)
            self._write_object_v2(path, values, codec, full_attrs, settings)
            return
        if lazy and not settings and self._small_lazy(data, kind, shape):
            # a small HDF5 or Zarr dataset (export): read whole and stored in the batch, not
            # through zarr.create_array (3 ms an array: 1000 TimeSeries cost 2.7 s)
            data, lazy = self._read_all(data, lazy), False
        if not lazy and not settings and self._write_small(data, kind, path, stored_shape,
                                                           full_attrs, labels):
            return
        dtype: Any = kind.dtype if kind.kind == "numeric" else str
        kw = self._array_kwargs(settings, path, kind)
        if labels and self.layout.stores_dimension_names:
            kw["dimension_names"] = labels
        if kind.kind != "numeric" and self.layout.text_fill_value is not None:
            kw.setdefault("fill_value", self.layout.text_fill_value)
        arr = self._create_array(path, stored_shape, dtype, full_attrs, kw)
        if lazy:
            self._write_lazy(arr, data, kind, path)
        elif 0 not in stored_shape:
            block = encode_block(kind, data, self.layout, self._encode_ref_element, path)
            if scalar:
                arr[...] = block.reshape(stored_shape)
            elif self.options.progress and block.nbytes > BLOCK_BYTES:
                self._copy_blocks(arr, block, kind, path)
            else:
                arr[...] = block

    def _write_small(self, data: Any, kind: DataKind, path: str, stored_shape: tuple,
                     attrs: dict, labels: tuple | None) -> bool:
        """Encode a one-chunk array into the batch (``zarr_bridge.small_arrays``); False when
        it does not qualify and Zarr must write it."""
        from ..zarr_bridge.small_arrays import encode_small_array

        block = encode_block(kind, data, self.layout, self._encode_ref_element, path)
        block = np.asarray(block).reshape(stored_shape) if kind.kind == "numeric" else \
            block.reshape(stored_shape)
        encoded = encode_small_array(path, block, zarr_format=self.layout.zarr_format,
                                     text=kind.kind != "numeric", attributes=attrs,
                                     dimension_names=labels,
                                     chunk_key_encoding=self.layout.chunk_key_encoding)
        if encoded is None:
            return False
        self._put_items(*encoded)
        return True

    @staticmethod
    def _small_lazy(data: Any, kind: DataKind, shape: tuple) -> bool:
        """A lazy numeric or text source small enough for the one-chunk path (not dask:
        dask arrays are stored by dask)."""
        from ..zarr_bridge.small_arrays import SMALL_ARRAY_BYTES
        from .dask import is_dask_array

        if kind.kind not in ("numeric", "text") or is_dask_array(data):
            return False
        try:
            itemsize = np.dtype(data.dtype).itemsize if kind.kind == "numeric" else 64
        except TypeError:
            return False
        return math.prod(shape) * max(itemsize, 1) <= SMALL_ARRAY_BYTES

    def _read_all(self, data: Any, lazy: bool) -> Any:
        if lazy:
            return data[()] if len(data.shape) == 0 else data[...] if hasattr(
                data, "__array__") else data[:]
        return data

    def _write_object_v2(self, path: str, values: np.ndarray, codec: str, attrs: dict,
                         settings: dict, chunks: tuple | None = None) -> None:
        """An object array in the batch (``zarr_bridge.object_array_write``, FORMAT.md 2.3,
        2.5): Zarr-Python 3 creates no numcodecs object arrays."""
        from ..format.layout2 import DEFAULT_COMPRESSOR_V2
        from ..zarr_bridge.object_array_write import encode_object_array_v2

        compressor = settings.get("compressor")
        if compressor is None and settings.get("compressors") is not None:
            # 0.14's compressors=: the last bytes-to-bytes codec (text needs no shuffle)
            from .codecs import codec_kwargs

            compressor = codec_kwargs({"compressors": settings["compressors"]}, self.layout,
                                      np.dtype("u1"), path)["compressors"] or False
        if compressor is None or compressor is True:  # True: the default compressor
            compressor = dict(DEFAULT_COMPRESSOR_V2)
        elif compressor is False:
            compressor = None
        else:
            compressor = to_numcodecs(compressor, path).get_config()
        if chunks is None and settings.get("chunks") not in (None, True):
            chunks = tuple(settings["chunks"])
        written, items = encode_object_array_v2(path, values, object_codec=codec,
                                                compressor=compressor, chunks=chunks,
                                                attributes=attrs)
        key = path.strip("/")
        self._put_items(items, {f"{key}/{name}": doc for name, doc in written.items()})

    def write_text_scalar(self, path: str, text: str) -> None:
        """A scalar text dataset (cached specs, FORMAT.md 2.6, 3.6): 0-d ``string`` without
        attributes in L3, shape ``[1]`` json2 ``|O`` without compressor in L2."""
        values = np.empty(1, dtype=object)
        values[0] = text
        values = values.reshape(self.layout.scalar_shape)
        codec = self.layout.spec_object_codec
        if codec is not None:
            self._write_object_v2(path, values, codec, self.layout.spec_attributes(),
                                  {"compressor": False})
            return
        from ..zarr_bridge.small_arrays import encode_small_array

        encoded = encode_small_array(path, values, zarr_format=self.layout.zarr_format,
                                     text=True, attributes=self.layout.spec_attributes(),
                                     chunk_key_encoding=self.layout.chunk_key_encoding)
        assert encoded is not None  # a one-element text array always qualifies
        self._put_items(*encoded)

    def _write_compound(self, data: Any, shape: tuple, kind: DataKind, path: str, attrs: dict,
                        settings: dict, lazy: bool, labels: tuple | None) -> None:
        layout = self.layout
        block = self._read_all(data, lazy)
        scalar = shape == ()
        if scalar:
            block = [block.tolist() if isinstance(block, np.void) else
                     (block[()].tolist() if isinstance(block, np.ndarray) else block)]
        if not kind.fields:
            raise UnsupportedDataError("compound data without a compound dtype", path)
        has_refs = any(f.kind == "reference" for f in kind.fields)
        if scalar and has_refs and not layout.scalar_reference_compounds:
            raise UnsupportedDataError(
                f"a scalar compound with a reference field cannot be stored in layout "
                f"{layout.name} (Zarr format {layout.zarr_format}); write layout L2 "
                "(zarr_format=2) for such data", path)
        rows = compound_rows(kind, block, self._encode_ref_element, path,
                             text_as_bytes=layout.stores_bytes)
        full_attrs = self._dataset_attrs(attrs, kind, False, labels)
        stored_shape = layout.stored_shape(()) if scalar else (len(rows),)
        codec = layout.compound_object_codec(kind)
        if codec is not None:
            if has_refs:  # a structured array with object fields (FORMAT.md 2.5)
                values = np.empty(len(rows), dtype=layout.compound_storage_dtype(kind, rows))
                for i, r in enumerate(rows):
                    values[i] = r
            else:  # an object array of records (FORMAT.md 2.8)
                values = np.empty(len(rows), dtype=object)
                for i, r in enumerate(rows):
                    values[i] = tuple(r)
            self._write_object_v2(path, values, codec, full_attrs, settings)
            return
        dt = layout.compound_storage_dtype(kind, rows)
        values = np.array(rows, dtype=dt) if rows else np.empty(0, dtype=dt)
        kw = self._array_kwargs(settings, path, DataKind("compound"), dt)
        kw.setdefault("fill_value", np.zeros((), dtype=dt)[()])
        if labels and layout.stores_dimension_names and stored_shape != ():
            kw["dimension_names"] = labels
        arr = self._create_array(path, stored_shape, dt, full_attrs, kw)
        if values.size:
            arr[...] = values.reshape(stored_shape) if stored_shape == () else values

def _is_h5py_dataset(data: Any) -> bool:
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        return False
    return isinstance(data, h5py.Dataset)
