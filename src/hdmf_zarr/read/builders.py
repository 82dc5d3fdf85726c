"""Build the builder tree of a store from its metadata documents (DESIGN.md, "The reader").

All node documents are fetched first (one request where consolidated metadata exists, a listing
walk otherwise); builders are then made from the documents without opening arrays; links and
reference attributes are resolved once the whole tree exists, through a path index.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from hdmf.build import DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder

from ..errors import FormatError, HdmfZarrError, LinkResolutionError, ReferenceResolutionError
from ..format.dtypes import numpy_dtype_for_name
from ..format.layout import Layout, LinkEntry, NodeAttributes, RefTarget
from .datasets import BuilderZarrReferenceDataset, BuilderZarrTableDataset, ObjectDataset
from .datetimes import datetime_text, is_datetime_spec
from .documents import NodeDocument, detect_layout, load_documents
from .failures import construct_failure
from .lazy import ZarrArray, array_from_metadata, attach_table
from .prefetch import READ_WHEN_CONSTRUCTED_TYPES, ReadWave, TableGroup

__all__ = ["NodeDocument", "StoreReader", "detect_layout", "load_documents", "MAX_LINK_HOPS",
           "construct_failure"]

logger = logging.getLogger(__name__)

MAX_LINK_HOPS = 64


#: Attributes that identify typed nodes: always strings (FORMAT.md 1).
_TEXT_ATTRIBUTES = ("namespace", "neurodata_type", "data_type", "object_id")


class BrokenLinkWarning(UserWarning):
    """A link or reference attribute whose target cannot be found; the rest of the file reads."""


class StoreReader:
    """Build builders for one store.

    Parameters
    ----------
    io : hdmf_zarr.backend.ZarrIO
        The IO object: gives the store, the source, ``_set_written`` and external stores.
    store : zarr.abc.store.Store
    layout : Layout
    use_consolidated : bool
        Read consolidated metadata when present (mode ``r``).
    """

    def __init__(self, io, store, layout: Layout, use_consolidated: bool,
                 root_documents: dict | None = None, prefetch: int | None = None):
        self.io = io
        self.store = store
        self.layout = layout
        root_documents = root_documents or {}
        self.nodes = load_documents(store, layout, use_consolidated,
                                    root_documents.get("zarr.json"),
                                    root_documents.get(".zmetadata"))
        self.by_path: dict[str, object] = {}
        self._children: dict[str, list[str]] = {}
        for p in self.nodes:
            if p:
                parent = p.rpartition("/")[0]
                self._children.setdefault(parent, []).append(p)
        self._pending_links: list[tuple[GroupBuilder, LinkEntry, str]] = []
        self._detached_targets: dict[tuple[str, str], object] = {}
        self._pending_attr_refs: list[tuple[GroupBuilder | DatasetBuilder, str, RefTarget,
                                            str]] = []
        self._scalar_refs: list[tuple[DatasetBuilder, BuilderZarrReferenceDataset, object]] = []
        #: what read() fetches in one concurrent batch (read.prefetch)
        self.wave = ReadWave(store, prefetch)
        #: object path of each DynamicTable -> its columns (read together on first access)
        self.tables: dict[str, TableGroup] = {}
        self._spec_cache: dict = {}
        #: containers of resolved reference targets (RefTarget -> container)
        self.containers: dict = {}
        root_attrs = layout.decode_attributes(self.nodes[""].attrs, "/", is_dataset=False)
        self.spec_location = root_attrs.spec_location

    # ------------------------------------------------------------------ tree
    def read_root(self) -> GroupBuilder:
        """The root GroupBuilder with every group, dataset, link and attribute below it."""
        root = self._build_group("", "root")
        self.wave.run()  # scalar values and the arrays reading needs, in one batch
        for gb, entry, where in self._pending_links:
            try:
                target = self.resolve_target(entry.target, where)
                if entry.target.source in (".", "") and isinstance(target, GroupBuilder) and (
                        entry.target.path == "/" or where.startswith(entry.target.path + "/")):
                    # a link to the group holding it (or above) makes the tree infinite
                    raise LinkResolutionError(f"target {entry.target.path} contains the link "
                                              "(a cycle)", where)
            except HdmfZarrError as exc:
                warnings.warn(f"skipping broken link {where}: {exc}", BrokenLinkWarning,
                              stacklevel=2)
                continue
            if entry.target.source not in (".", ""):
                # the target of an external link appears where the link is, as with HDF5IO
                target = self._detach_external(target, entry, where)
            lb = LinkBuilder(builder=target, name=entry.name, parent=gb, source=self.io.source)
            lb.location = "/" + gb_path(gb)
            gb.set_link(lb)
            self.io._set_written(lb)
        for builder, key, target, where in self._pending_attr_refs:
            try:
                builder.attributes[key] = self.resolve_target(target, where)
            except HdmfZarrError as exc:
                warnings.warn(f"skipping reference attribute {where}: {exc}", BrokenLinkWarning,
                              stacklevel=2)
                builder.attributes.pop(key, None)
        for db, refs, index in self._scalar_refs:
            try:
                db.data = ReferenceBuilder(refs[index])
            except HdmfZarrError as exc:
                warnings.warn(f"skipping reference dataset {db.name}: {exc}", BrokenLinkWarning,
                              stacklevel=2)
        self._pending_links.clear()
        self._pending_attr_refs.clear()
        self._scalar_refs.clear()
        return root

    def _split_attrs(self, builder, na: NodeAttributes, where: str, spec=None) -> dict:
        for key in _TEXT_ATTRIBUTES:
            value = na.attributes.get(key)
            if value is not None and not isinstance(value, str):
                raise FormatError(f"attribute {key!r} is {value!r}, not a string",
                                  f"{where}@{key}")
        attrs = {}
        for key, value in na.attributes.items():
            if isinstance(value, RefTarget):
                self._pending_attr_refs.append((builder, key, value, f"{where}@{key}"))
            else:
                attrs[key] = _typed_attribute(value, spec, key)
        return attrs

    def _node_spec(self, attrs: dict, parent_spec, name: str, is_dataset: bool):
        """The spec of a node: its own type's spec when typed, else the parent spec's child of
        that name; None when unknown. Used to give attributes their spec's numeric type, which
        JSON does not keep (HDF5 does)."""
        ns = attrs.get("namespace")
        dt = attrs.get("neurodata_type", attrs.get("data_type"))
        if isinstance(ns, str) and isinstance(dt, str):
            key = (ns, dt)
            if key not in self._spec_cache:
                try:
                    self._spec_cache[key] = self.io.manager.namespace_catalog.get_spec(ns, dt)
                except Exception:  # namespace not loaded: attributes keep their JSON types
                    self._spec_cache[key] = None
            return self._spec_cache[key]
        if parent_spec is None:
            return None
        child_key = (id(parent_spec), name, is_dataset)
        if child_key not in self._spec_cache:
            getter = getattr(parent_spec, "get_dataset" if is_dataset else "get_group", None)
            try:
                self._spec_cache[child_key] = getter(name) if getter is not None else None
            except Exception:
                self._spec_cache[child_key] = None
        return self._spec_cache[child_key]

    def _build_group(self, path: str, name: str, parent_spec=None) -> GroupBuilder:
        node = self.nodes[path]
        where = "/" + path
        na = self.layout.decode_attributes(node.attrs, where, is_dataset=False)
        spec = self._node_spec(na.attributes, parent_spec, name, is_dataset=False)
        gb = GroupBuilder(name, source=self.io.source)
        gb.location = "/" + path.rpartition("/")[0] if path else None
        gb.attributes.update(self._split_attrs(gb, na, where, spec))
        # the columns of a DynamicTable are read together on first access
        columns = TableGroup(self.wave, self.tables) if "colnames" in na.attributes else None
        if columns is not None:
            self.tables[where] = columns
        for child in sorted(self._children.get(path, [])):
            if path == "" and self.spec_location and child == self.spec_location:
                continue
            child_name = child.rpartition("/")[2]
            cnode = self.nodes[child]
            if cnode.kind == "group":
                gb.set_group(self._build_group(child, child_name, spec))
            else:
                gb.set_dataset(self._build_dataset(child, child_name, spec, columns))
        for entry in na.links:
            self._pending_links.append((gb, entry, f"{where.rstrip('/')}/{entry.name}"))
        self.by_path["/" + path] = gb
        self.io._set_written(gb)
        return gb

    def _raw_array(self, path: str, node: NodeDocument, na: NodeAttributes):
        if self.layout.has_object_arrays():
            from ..zarr_bridge.object_array import ObjectArrayV2, is_object_array_v2

            if is_object_array_v2(node.meta):
                allow_scalars = isinstance(na.dtype, list) and not na.reference_fields
                return ObjectArrayV2(self.wave.object_store, path, node.meta,
                                     allow_record_scalars=allow_scalars)
        return array_from_metadata(self.store, path, node.meta, node.attrs,
                                   self.layout.zarr_format)

    def _build_dataset(self, path: str, name: str, parent_spec=None,
                       columns: TableGroup | None = None) -> DatasetBuilder:
        node = self.nodes[path]
        where = "/" + path
        na = self.layout.decode_attributes(node.attrs, where, is_dataset=True)
        spec = self._node_spec(na.attributes, parent_spec, name, is_dataset=True)
        raw = self._raw_array(path, node, na)
        shape = tuple(raw.shape)
        scalar = shape == () or (na.scalar and shape == (1,))
        if columns is not None and not scalar:
            columns.add(raw)
            attach_table(raw, columns)
            target = na.attributes.get("table")
            if na.attributes.get("neurodata_type") == "DynamicTableRegion" and \
                    isinstance(target, RefTarget) and target.source in (".", ""):
                # hdmf's to_dataframe and row reads resolve the region into the rows of the
                # table it points to: those columns come in the same batch
                columns.link(target.path)
        raw_dtype = raw.dtype
        if na.attributes.get("neurodata_type") == "VectorIndex" and \
                getattr(raw_dtype, "kind", "i") not in "iu":
            # hdmf slices the target with these values (a TypeError for floats)
            raise FormatError(f"a VectorIndex must hold integers, not {raw_dtype}", where)
        names = getattr(raw_dtype, "names", None)
        if not names:  # an L2 compound with text fields is a |O array of records (2.5)
            records = _text_compound_dtype(raw, na, where)
            if records is not None:
                raw_dtype, names = records, records.names
        if names and shape == (1,) and _spec_is_scalar(spec) and not (
                "neurodata_type" in na.attributes or "data_type" in na.attributes):
            # L2 stores scalar compounds as shape [1] without a marker (FORMAT 2.8); only the
            # parent's spec of an untyped dataset says so (a type's own spec, e.g. hdmf's Data,
            # leaves the shape open)
            scalar = True
        scalar_ref = None
        data: Any
        dtype: Any
        later = None  # an L2 datetime array converted once the wave has fetched it
        if names:
            fields = []
            for n in names:
                if n in na.reference_fields:
                    fields.append((n, "object"))
                else:
                    sub = raw_dtype[n]
                    fields.append((n, "utf8" if sub.kind in "OUT" else sub.name))
            table = BuilderZarrTableDataset(raw, self, fields=fields, path=where)
            dtype = [{"name": n, "dtype": d} for n, d in fields]
            if scalar:
                # a scalar compound reads as a 0-d structured array, as NWBHDF5IO returns it
                # (pynwb refuses a bare ``np.void``, e.g. ElectrodeGroup.position)
                data = np.asarray(table[0] if shape == (1,) else table[()])
            else:
                data = table
        elif na.is_reference_dataset:
            refs = BuilderZarrReferenceDataset(raw, self, path=where)
            dtype = "object"
            data = refs
            if scalar:  # resolved to a ReferenceBuilder once the whole tree exists
                scalar_ref = (refs, 0 if shape == (1,) else ())
                data = None
        elif scalar:
            data = None  # read with every other scalar in one batch (read_root)
            dtype = _builder_dtype(raw_dtype, na)
        else:
            dtype = _builder_dtype(raw_dtype, na)
            fetched = self.wave.add_array(raw, _read_when_constructed(na, spec, raw))
            data = raw if isinstance(raw, ZarrArray) else ObjectDataset(raw, columns)
            if not isinstance(raw, ZarrArray) and is_datetime_spec(spec):
                # hdmf parses only arrays it knows (item 9); from the wave when fetched there
                data = None if fetched else datetime_text(raw)
                if fetched:
                    later = raw
        labels = node.meta.get("dimension_names") or na.dimension_labels
        if not isinstance(labels, (list, tuple)) or len(labels) != len(shape) or \
                not all(isinstance(v, str) for v in labels):
            labels = None
        db = DatasetBuilder(name, data=data, dtype=dtype, source=self.io.source,
                            dimension_labels=tuple(labels) if labels else None)
        db.location = "/" + path.rpartition("/")[0] if "/" in path else "/"
        db.attributes.update(self._split_attrs(db, na, where, spec))
        if scalar_ref is not None:
            self._scalar_refs.append((db, *scalar_ref))
        elif data is None and scalar:
            self.wave.add_scalar(db, raw, 0 if shape == (1,) else ())
        elif later is not None:
            self.wave.after(db, lambda: datetime_text(later))
        self.by_path[where] = db
        self.io._set_written(db)
        return db

    # ------------------------------------------------------------------ targets
    def _detach_external(self, target, entry: LinkEntry, where: str):
        """The parentless copy standing for an external link's target in this tree, made once
        per target. References that the other store's data holds to the target (or to a node
        below it) then resolve to the same copy, so they give the very container the link
        gives, as with HDF5IO (pynwb's TimeSeriesReference of a linked table)."""
        key = (entry.target.source, entry.target.path)
        copy = self._detached_targets.get(key)
        if copy is None:
            copy = (_detached(target) if isinstance(target, DatasetBuilder) else
                    _detached_group(target))
            self._detached_targets[key] = copy
            index = self.io._open_external(entry.target.source, where)._reader_index()
            _substitute(index, entry.target.path, target, copy)
        return copy

    def resolve_target(self, target: RefTarget, where: str, hops: int = 0):
        """The builder a link or reference target designates.

        Raises
        ------
        LinkResolutionError
            When the target store cannot be opened or the path does not exist there.
        """
        if target.source in (".", ""):
            builder = self.by_path.get(target.path)
            if builder is None:
                raise ReferenceResolutionError(f"target {target.path} does not exist in this "
                                               "store", where)
            return builder
        if hops >= MAX_LINK_HOPS:
            raise LinkResolutionError("too many link hops (cycle?)", where)
        other = self.io._open_external(target.source, where)
        builder = other._reader_index().get(target.path)
        if builder is None:
            raise LinkResolutionError(f"target {target.path} does not exist in the store "
                                      f"{target.source}", where)
        return builder


def _substitute(index: dict, path: str, original, copy) -> None:
    """Point ``index`` (another store's path -> builder map) at ``copy`` wherever it held
    ``original`` or a node below it, so that later resolutions in that store return the copy."""
    if index.get(path) is original:
        index[path] = copy
    if isinstance(original, GroupBuilder):
        base = path.rstrip("/")
        for name, child in copy.groups.items():
            _substitute(index, f"{base}/{name}", original.groups[name], child)
        for name, child in copy.datasets.items():
            _substitute(index, f"{base}/{name}", original.datasets[name], child)


def _detached(builder: DatasetBuilder) -> DatasetBuilder:
    """A parentless copy of a dataset builder of another store, as HDF5IO hands out targets of
    external links: pynwb reads a linked dataset that has a parent as a link to the parent's
    container (its own "data=other TimeSeries" convention), which an external link is not."""
    copy = DatasetBuilder(builder.name, data=builder.data, dtype=builder.dtype,
                          source=builder.source, dimension_labels=builder.dimension_labels)
    copy.attributes.update(builder.attributes)
    copy.location = builder.location
    return copy


def _detached_group(builder: GroupBuilder) -> GroupBuilder:
    """A parentless copy of a group builder of another store (its subgroups and datasets
    copied too, its links kept), as HDF5IO reads the target of an external link to a group:
    the container then becomes a child of the group holding the link, not of a container of
    the other file (issue 12 item 11)."""
    copy = GroupBuilder(builder.name, source=builder.source)
    copy.attributes.update(builder.attributes)
    copy.location = builder.location
    for group in builder.groups.values():
        copy.set_group(_detached_group(group))
    for dataset in builder.datasets.values():
        copy.set_dataset(_detached(dataset))
    for link in builder.links.values():
        copy.set_link(LinkBuilder(builder=link.builder, name=link.name, parent=copy,
                                  source=link.source))
    return copy


def gb_path(builder) -> str:
    names = []
    cur = builder
    while cur.parent is not None:
        names.append(cur.name)
        cur = cur.parent
    return "/".join(reversed(names))


_ATTRIBUTE_DTYPES: dict = {}


def _attribute_dtype_name(spec, key: str):
    """The dtype name a spec gives attribute ``key`` (cached per spec; None when unknown)."""
    table = _ATTRIBUTE_DTYPES.get(id(spec))
    if table is None or table[0] is not spec:
        names = {a.name: a.dtype for a in getattr(spec, "attributes", ()) or ()}
        table = _ATTRIBUTE_DTYPES[id(spec)] = (spec, names)
    return table[1].get(key)


_SIZED_INTEGER_NAMES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                  "uint64", "bool"})


def _typed_attribute(value, spec, key: str):
    """``value`` converted to the integer or bool type the spec gives attribute ``key`` (JSON
    keeps numbers untyped, and hdmf checks ``int64``/``uint*`` attributes by type); unchanged
    when the spec says nothing about it. Floats stay Python floats: narrowing a JSON float to a
    ``float32`` spec would lose digits a non-conforming writer stored."""
    if spec is None or isinstance(value, float) or not isinstance(value, (int, bool, list)):
        return value
    dtype_name = _attribute_dtype_name(spec, key)
    if not isinstance(dtype_name, str):
        return value
    if dtype_name.lower() == "uint":
        # hdmf's validator takes only unsigned numpy values for "uint"; HDF5 reads uint64
        if _all_non_negative_ints(value):
            return np.asarray(value, dtype=np.uint64) if isinstance(value, list) \
                else np.uint64(value)
        return value
    if dtype_name.lower() not in _SIZED_INTEGER_NAMES:
        return value  # generic "int"/"numeric": hdmf accepts Python numbers
    dtype = numpy_dtype_for_name(dtype_name.lower())
    if dtype is None:
        return value
    try:
        if isinstance(value, list):
            return np.asarray(value, dtype=dtype)
        return dtype.type(value)
    except (TypeError, ValueError, OverflowError):
        return value


def _all_non_negative_ints(value) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(type(v) is int and v >= 0 for v in items)


def _text_compound_dtype(raw, na: NodeAttributes, where: str) -> np.dtype | None:
    """The structured dtype of an L2 compound without reference fields stored as a ``|O``
    array of records (FORMAT.md 2.5, 2.8), from its list-form ``zarr_dtype`` (text fields
    ``object``); None for every other dataset. Its rows are read as records by the table
    dataset, as HDF5IO hands compounds to hdmf."""
    from ..zarr_bridge.object_array import ObjectArrayV2

    if not isinstance(raw, ObjectArrayV2) or not isinstance(na.dtype, list) or \
            na.reference_fields:
        return None
    fields = []
    for field in na.dtype:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            raise FormatError("a compound field of zarr_dtype is not {name, dtype}", where)
        sub = numpy_dtype_for_name(field["dtype"]) if isinstance(field.get("dtype"), str) \
            else None
        fields.append((field["name"], sub if sub is not None else np.dtype(object)))
    try:
        return np.dtype(fields)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"zarr_dtype is not a valid compound type ({exc})", where) from None


def _read_when_constructed(na: NodeAttributes, spec, raw) -> bool:
    """True for the arrays hdmf reads while constructing containers, fetched in the read wave:
    table ``id`` columns, region references (hdmf's ``DynamicTableRegion`` reads all of its
    data to check the indices against the table, in a table's column as in a series'
    ``electrodes``), datetime arrays and untyped text arrays (``experimenter``)."""
    kind = na.attributes.get("neurodata_type", na.attributes.get("data_type"))
    if kind in READ_WHEN_CONSTRUCTED_TYPES:
        return True
    if is_datetime_spec(spec):
        return True
    return kind is None and getattr(raw.dtype, "kind", "O") in "OTU"


def _spec_is_scalar(spec) -> bool:
    """True when a dataset spec allows only a scalar (no shape and no dims)."""
    return spec is not None and getattr(spec, "shape", 0) is None and \
        getattr(spec, "dims", 0) is None




def _builder_dtype(dtype, na: NodeAttributes):
    kind = getattr(dtype, "kind", "O")
    if kind in "OT" or kind == "U":
        if na.dtype in ("bytes", "ascii", "bytes_"):
            return "ascii"
        return "utf8"
    return dtype
