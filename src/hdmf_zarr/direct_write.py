"""Direct writes into a Zarr node: the ``write_group(parent, builder)``,
``write_dataset(parent, builder)``, ``write_link(parent, builder)`` and
``write_attributes(obj, attributes)`` calls of the hdmf-zarr 0.13/0.14 API, where ``parent`` is
a ``zarr.Group`` of the open store (``io._file`` or a group below it) and ``obj`` a
``zarr.Group`` or ``zarr.Array``.

Each call checks its input, then writes at once (inside one write-in-progress session of the
IO object, docs/format-notes.md) following the layout of the store (FORMAT.md 2.1-2.4 for L2,
3.1-3.5 for L3). The consolidated metadata of the store is brought up to date when the IO
object closes.
"""

from __future__ import annotations

from typing import Any, Literal

from hdmf.build import Builder, DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder

from .errors import NotHdmfStoreError, StoreModeError
from .format.names import check_name, join_path
from .write.paths import root_of
from .write.writer import BuilderWriter
from .zarr_bridge import store_io
from .zarr_bridge.wrapped_store import inner_store

__all__ = ["node_path", "write_group", "write_dataset", "write_link", "write_attributes",
           "open_node", "root_group"]


def node_path(io: Any, node: Any) -> str:
    """Absolute path (``/a/b``; ``/`` for the root) of a zarr node of ``io``'s store.

    Raises
    ------
    TypeError
        When ``node`` is not a ``zarr.Group``/``zarr.Array``.
    ValueError
        When ``node`` belongs to another store.
    """
    import zarr

    if not isinstance(node, (zarr.Group, zarr.Array)):
        raise TypeError(f"expected a zarr.Group or zarr.Array of this store, not "
                        f"{type(node).__name__}")
    path = "/" + node.path.strip("/")
    if node.store is not io._store and not _same_store(node.store, io):
        raise ValueError(f"{path}: the zarr node belongs to another store than "
                         f"{io.source or '<store>'}; get it from io._file")
    return path


def _same_store(store, io) -> bool:
    from .storage import store_location

    inner = inner_store(store)  # a read-only or wrapping view of our store
    if inner is not None and inner is io._store:
        return True
    try:
        location = store_location(store)
    except Exception:  # a store kind without a location
        return False
    return location is not None and location == io._location


class _DirectWriter(BuilderWriter):
    """A BuilderWriter that remembers where each builder of a direct call was written, so that
    later links and references to it (in this call or a later one) point to that path even when
    the builder is not attached to the root builder (its tree path would differ)."""

    def _paths(self) -> dict:
        return self.io.__dict__.setdefault("_hdmf_zarr_direct_paths", {})

    def _written_path(self, target) -> str | None:
        entry = self._paths().get(id(target))
        return entry[1] if entry is not None and entry[0] is target else None

    def _in_this_file(self, target: Builder) -> bool:
        return self._written_path(target) is not None or super()._in_this_file(target)

    def write_group(self, builder: GroupBuilder, path: str) -> None:
        self._paths()[id(builder)] = (builder, path)
        super().write_group(builder, path)

    def write_dataset(self, builder: DatasetBuilder, path: str) -> None:
        self._paths()[id(builder)] = (builder, path)
        super().write_dataset(builder, path)

    def _link_entry(self, link: LinkBuilder, parent_path: str) -> dict:
        path = self._written_path(link.builder)
        if path is not None:
            return self.layout.encode_link(link.name, ".", path)
        return super()._link_entry(link, parent_path)

    def _reference_target(self, value):
        target = value.builder if isinstance(value, ReferenceBuilder) else value
        path = self._written_path(target)
        if path is not None:
            return path, target.attributes.get("object_id"), self._root_object_id
        return super()._reference_target(value)


def _writer(io, builder: Builder, link_data=True, exhaust_dci=True,
            export_source=None) -> BuilderWriter:
    writer = _DirectWriter(io, io._store, io._layout, link_data=link_data,
                           exhaust_dci=exhaust_dci, export_source=export_source)
    root = root_of(builder)
    writer._root = root  # references inside the builder's own tree stay in this file
    writer._root_object_id = getattr(root, "attributes", {}).get("object_id")
    return writer


def _check_builder(builder, cls, what: str) -> None:
    if not isinstance(builder, cls):
        raise TypeError(f"{what} needs a {cls.__name__}, not {type(builder).__name__}")


def open_node(io: Any, path: str, group: bool) -> Any:
    """The zarr node written at ``path`` (None when zarr cannot open it: an L2 object array in
    a process where its data type is not registered)."""
    import zarr

    mode: Literal["r", "r+"] = "r" if io.mode in ("r", "r-") else "r+"
    try:
        if group:
            # without the consolidated metadata: zarr parses every array's metadata in it, and
            # L2 object arrays need data types registered (FORMAT.md 2.2)
            return zarr.open_group(store=io._store, path=path.strip("/"), mode=mode,
                                   zarr_format=io.zarr_format, use_consolidated=False)
        return zarr.open_array(store=io._store, path=path.strip("/"), mode=mode,
                               zarr_format=io.zarr_format)
    except Exception:  # an object data type zarr does not know (docstring)
        if group:
            raise
        return None


def root_group(io: Any) -> Any:
    """The root ``zarr.Group`` of ``io``'s open store (None when closed). In a writable mode an
    empty root group is created first when the store has none (FORMAT.md 2.1 / 3.1)."""
    if io._store is None:
        return None
    if io.mode not in ("r", "r-"):
        docs = io._layout.group_documents({})
        if not any(store_io.exists(io._store, n) for n in docs):
            with io._write_session():
                io._begin_write()
                store_io.set_many(io._store, {n: store_io.dumps_json(d)
                                              for n, d in docs.items()})
                io._documents.update(docs)
    return open_node(io, "/", group=True)


def _begin(io, what: str) -> None:
    io._check_writable()
    if io._layout is None:
        raise StoreModeError(f"{what}: the store is not open", io.source or "<store>")


def write_group(io: Any, parent: Any, builder: GroupBuilder, link_data: bool = True,
                exhaust_dci: bool = True, export_source: str | None = None) -> Any:
    """Write ``builder`` (and everything below it) as the group ``builder.name`` of the zarr
    group ``parent``; return the new ``zarr.Group``."""
    _begin(io, "write_group")
    _check_builder(builder, GroupBuilder, "write_group")
    parent_path = node_path(io, parent)
    path = join_path(parent_path, check_name(builder.name, parent_path))
    writer = _writer(io, builder, link_data, exhaust_dci, export_source)
    writer.check_tree(builder, path)  # bad input leaves the store as it was
    with io._write_session():
        io._begin_write()
        writer.write_group(builder, path)
        writer.flush()
    io._direct_writes = True
    return open_node(io, path, group=True)


def write_dataset(io: Any, parent: Any, builder: DatasetBuilder, link_data: bool = True,
                  exhaust_dci: bool = True, force_data: Any = None,
                  export_source: str | None = None) -> Any:
    """Write ``builder`` as the dataset ``builder.name`` of the zarr group ``parent``; return
    the new ``zarr.Array`` (None for an L2 object array zarr cannot open, see
    :func:`open_node`). ``force_data``, when given, is written instead of ``builder.data``."""
    _begin(io, "write_dataset")
    _check_builder(builder, DatasetBuilder, "write_dataset")
    parent_path = node_path(io, parent)
    path = join_path(parent_path, check_name(builder.name, parent_path))
    if force_data is not None:
        builder = DatasetBuilder(builder.name, data=force_data, dtype=builder.dtype,
                                 attributes=dict(builder.attributes), maxshape=builder.maxshape,
                                 chunks=builder.chunks, parent=builder.parent,
                                 source=builder.source)
    writer = _writer(io, builder, link_data, exhaust_dci, export_source)
    writer._encode_attributes(builder.attributes, path)  # checked before the first byte
    with io._write_session():
        io._begin_write()
        writer.write_dataset(builder, path)
        writer.flush()
    io._direct_writes = True
    return open_node(io, path, group=False)


def write_link(io: Any, parent: Any, builder: LinkBuilder,
               export_source: str | None = None) -> Any:
    """Add the link ``builder`` to the zarr group ``parent`` (a link entry of its attributes,
    FORMAT.md 2.4 / 3.5; an entry of the same name is replaced). A link to a dataset of another
    file that belongs to no store is written as a copy of the dataset, which is returned."""
    _begin(io, "write_link")
    _check_builder(builder, LinkBuilder, "write_link")
    parent_path = node_path(io, parent)
    check_name(builder.name, parent_path)
    writer = _writer(io, builder, export_source=export_source)
    if writer._copy_instead_of_link(builder):
        target = builder.builder
        copy = DatasetBuilder(builder.name, data=target.data, dtype=target.dtype,
                              attributes=dict(target.attributes), maxshape=target.maxshape,
                              chunks=target.chunks)
        node = write_dataset(io, parent, copy, export_source=export_source)
        io._set_written(builder)
        return node
    entry = writer._link_entry(builder, parent_path)
    links_attr = io._layout.links_attr

    def add(attrs: dict) -> None:
        links = [e for e in attrs.get(links_attr) or []
                 if not (isinstance(e, dict) and e.get("name") == builder.name)]
        attrs[links_attr] = links + [entry]

    _update_attributes(io, parent_path, add)
    io._set_written(builder)
    return None


def write_attributes(io: Any, obj: Any, attributes: dict) -> None:
    """Set ``attributes`` (name -> value; values as builders carry them: scalars, strings,
    lists, arrays, references as builders) on the zarr group or array ``obj``, keeping its other
    attributes (FORMAT.md 2.3 / 3.3)."""
    _begin(io, "write_attributes")
    if not isinstance(attributes, dict):
        raise TypeError(f"attributes must be a dict, not {type(attributes).__name__}")
    path = node_path(io, obj)
    writer = _DirectWriter(io, io._store, io._layout)
    encoded = writer._encode_attributes(attributes, path)  # raises before anything is written
    reserved = {io._layout.links_attr, io._layout.dtype_attr} & set(encoded)
    if reserved:
        from .errors import InvalidNameError

        raise InvalidNameError(f"attribute name {sorted(reserved)[0]!r} is reserved by the "
                               "layout (FORMAT.md 2.3 / 3.3)", path)
    _update_attributes(io, path, lambda attrs: attrs.update(encoded))


def _update_attributes(io, path: str, change) -> None:
    """Read the attributes of the node at ``path``, apply ``change`` (a function changing the
    dict in place) and store them."""
    store = io._store
    layout = io._layout
    # the attributes live in .zattrs (L2) or in zarr.json (L3): FORMAT.md 2.1, 3.1
    if not any(store_io.exists(store, store_io.node_key(path, n))
               for n in layout.node_marker_documents):
        raise NotHdmfStoreError("no Zarr node here", path)
    key = store_io.node_key(path, layout.document_holding_attributes())
    doc = store_io.get_json(store, key)
    attrs = layout.attributes_in(doc)
    if attrs is None:
        raise NotHdmfStoreError("no Zarr node here", path)
    change(attrs)
    doc = layout.with_attributes(doc, attrs)
    with io._write_session():
        io._begin_write()
        store_io.set_many(store, {key: store_io.dumps_json(doc)})
    io._documents[key] = doc
    io._direct_writes = True
