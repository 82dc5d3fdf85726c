"""What the two on-disk conventions share, and the decoding of reserved attributes.

A :class:`Layout` is pure: it turns builder-level facts (attributes, links, references, data
kinds) into JSON values and back, and never touches a store. ``layout2.L2`` and ``layout3.L3``
implement FORMAT.md sections 2 and 3. The writer and the reader call a layout; they never test
the format version themselves (DESIGN.md, "The flow of data").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import FormatError, UnstorableValueError
from .dtypes import DataKind
from .names import check_target_path

__all__ = ["Layout", "NodeAttributes", "LinkEntry", "RefTarget", "SPEC_LOC_ATTR",
           "DEFAULT_SPEC_LOC_DIR"]

SPEC_LOC_ATTR = ".specloc"
DEFAULT_SPEC_LOC_DIR = "specifications"


@dataclass(frozen=True)
class RefTarget:
    """Where a link or reference points: a store location relative to the referring store
    (``"."`` for the same store) and an absolute object path inside it."""

    source: str
    path: str


@dataclass(frozen=True)
class LinkEntry:
    """One link of a group (FORMAT.md 2.4 / 3.5)."""

    name: str
    target: RefTarget


@dataclass
class NodeAttributes:
    """A node's attributes split into what the builder gets and what the layout consumes.

    Attributes
    ----------
    attributes : dict
        Plain attributes; reference attributes hold :class:`RefTarget` values, resolved to builders
        by the reader.
    links : list of LinkEntry
    dtype : object
        ``zarr_dtype`` / ``_DTYPE`` as stored (str, list or None).
    reference_fields : list of str
        Compound fields holding references (``_REFERENCE_FIELDS`` or ``"object"`` fields of the L2
        list form).
    scalar : bool
        The dataset is a scalar stored with shape ``[1]`` (L2 ``"scalar"``, dev ``_SCALAR``).
    dimension_labels : list of str or None
        ``_ARRAY_DIMENSIONS``.
    spec_location : str or None
        ``.specloc`` of the root.
    """

    attributes: dict = field(default_factory=dict)
    links: list[LinkEntry] = field(default_factory=list)
    dtype: Any = None
    reference_fields: list[str] = field(default_factory=list)
    scalar: bool = False
    dimension_labels: list | None = None
    spec_location: str | None = None

    @property
    def is_reference_dataset(self) -> bool:
        return self.dtype in ("object", "object_reference")


class Layout:
    """Base class of the on-disk layouts; see ``L2`` and ``L3``.

    Every difference between the layouts is an attribute or a method here, documented with the
    FORMAT.md sections it follows; the writer, the iterators, export, ``hdmf-zarr info`` and the
    CLI ask the layout instead of comparing Zarr format numbers. ``format.select`` turns a format
    number or a store's root documents into a layout.
    """

    #: The Zarr format number of the arrays and groups (``zarr_format`` of Zarr-Python).
    zarr_format: Literal[2, 3]
    #: ``"L2"`` or ``"L3"``, for messages.
    name: str = ""
    #: Group attribute holding the links (FORMAT.md 2.4, 3.5).
    links_attr: str = ""
    #: Dataset attribute holding the HDMF dtype (FORMAT.md 2.2, 3.2).
    dtype_attr: str = ""

    # ------------------------------------------------------------------ node documents
    #: Every document name of a node (FORMAT.md 2.1, 3.1).
    node_documents: tuple[str, ...] = ()
    #: The document of a group node (FORMAT.md 2.1, 3.1).
    group_document: str = ""
    #: The document holding an array's metadata: shape, chunks, dtype, codecs (FORMAT.md 2.3
    #: ``.zarray``, 3.1 ``zarr.json``).
    array_document: str = ""
    #: The documents Zarr writes for an array (FORMAT.md 2.1, 3.1).
    array_documents: tuple[str, ...] = ()
    #: Documents whose presence means a node (group or array) exists at a path.
    node_marker_documents: tuple[str, ...] = ()
    #: The separate document holding a node's attributes (L2 ``.zattrs``), or None when the
    #: attributes are inside the node document (L3 ``zarr.json``, FORMAT.md 3.1).
    attributes_document: str | None = None
    #: Root document names that identify the layout of a store (FORMAT.md 4).
    identifying_documents: tuple[str, ...] = ()
    #: Store key of the consolidated metadata (FORMAT.md 2.7, 3.7).
    consolidated_key: str = ""

    def consolidated_array_key(self, key: str) -> str:
        """The key of the array document at store key ``key`` (no leading ``/``) in the
        consolidated metadata (L2 ``<key>/.zarray``, FORMAT.md 2.7; L3 the node path itself,
        3.7)."""
        raise NotImplementedError

    def is_metadata_name(self, name: str) -> bool:
        """True when the last key component ``name`` is a document of this layout (node
        documents, consolidated metadata), False for chunk and shard keys (FORMAT.md 2.1,
        2.7, 3.1)."""
        raise NotImplementedError

    def consolidated_attributes_key(self, key: str) -> str:
        """The key of the document holding the attributes of the node at store key ``key`` in
        the consolidated metadata (L2 ``<key>/.zattrs``, FORMAT.md 2.7; L3 the node path
        itself, 3.7)."""
        raise NotImplementedError

    def chunk_shape(self, meta: dict) -> tuple[int, ...] | None:
        """Shape of one chunk of an array from its parsed document (L2 ``chunks``, FORMAT.md
        2.2; L3 the regular ``chunk_grid``, 3.3; the shard shape of a sharded L3 array); None
        when the document does not give one this package reads."""
        raise NotImplementedError

    def whole_in_first_chunk(self, meta: dict) -> bool:
        """True when chunk ``(0, ..., 0)`` (:meth:`first_chunk_key`) holds all of an array and
        readers fetch that key whole (no sharding: a shard is read in byte ranges)."""
        shape, chunks = meta.get("shape"), self.chunk_shape(meta)
        if not isinstance(shape, list) or chunks is None or len(chunks) != len(shape):
            return False
        try:
            if "sharding_indexed" in self.codec_ids(meta):
                return False
        except FormatError:
            return False
        return all(isinstance(n, int) and 0 <= n <= c for n, c in zip(shape, chunks))

    def document_holding_attributes(self) -> str:
        """Name of the document of a node that holds its attributes (L2 ``.zattrs``, L3
        ``zarr.json``; FORMAT.md 2.1, 3.1)."""
        return self.attributes_document or self.group_document

    def attributes_in(self, document: Any) -> dict | None:
        """The attributes held by the document :meth:`document_holding_attributes` names (None
        read as absent), as a fresh dict; None when that document is malformed (FORMAT.md 2.1,
        3.1)."""
        raise NotImplementedError

    def with_attributes(self, document: Any, attributes: dict) -> dict:
        """The document :meth:`document_holding_attributes` names, holding ``attributes``
        instead of its former attributes (FORMAT.md 2.1, 3.1)."""
        raise NotImplementedError

    def group_documents(self, attributes: dict) -> dict[str, Any]:
        """Documents of a group node with ``attributes``, keyed by name (FORMAT.md 2.1, 3.1)."""
        raise NotImplementedError

    def stale_group_documents(self, documents: dict) -> list[str]:
        """Names of documents Zarr may have left at a group whose own documents are
        ``documents`` and that the layout does not have there: L2 groups without attributes
        have no ``.zattrs`` (FORMAT.md 2.1), although Zarr creates an empty one for the parents
        of the arrays it creates."""
        return []

    # ------------------------------------------------------------------ shapes and scalars
    #: Stored shape of a scalar dataset (FORMAT.md 2.3 ``[1]``, 3.3 ``[]``).
    scalar_shape: tuple[int, ...] = ()
    #: A scalar compound with a reference field can be stored (FORMAT.md 2.8; not in 3.3).
    scalar_reference_compounds: bool = True

    def stored_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The array shape a dataset of shape ``shape`` is stored with (scalars: FORMAT.md 2.3,
        3.3)."""
        return self.scalar_shape if tuple(shape) == () else tuple(shape)

    # ------------------------------------------------------------------ text, bytes, codecs
    #: Byte strings (``ascii``/``bytes`` data, datetimes) are stored as bytes (L2 vlen-bytes,
    #: FORMAT.md 2.3); False: as UTF-8 text (3.2).
    stores_bytes: bool = False
    #: Codecs are numcodecs configurations, one compressor plus filters (L2 ``.zarray``,
    #: FORMAT.md 2.3); False: a Zarr 3 chain of filters, serializer and compressors (3.1).
    uses_numcodecs: bool = False
    #: Arrays may be sharded (FORMAT.md 3.8).
    supports_sharding: bool = False
    #: Dimension labels are also stored as Zarr's ``dimension_names`` (FORMAT.md 3.7); the
    #: ``_ARRAY_DIMENSIONS`` attribute is written in both layouts (2.1).
    stores_dimension_names: bool = False
    #: ``fill_value`` of text arrays Zarr creates (None: Zarr's own; FORMAT.md 3.2).
    text_fill_value: str | None = None

    @property
    def default_codec_options(self) -> dict[str, Any]:
        """Codec arguments of ``zarr.create_array`` used unless the settings give them (a
        fresh dict; L3: Zarr's ``"auto"`` compressors and filters)."""
        return {}

    def object_codec(self, kind: DataKind) -> str | None:
        """The numcodecs object codec a non-compound dataset of ``kind`` is stored with
        (``vlen-utf8``, ``vlen-bytes``, ``json2``; FORMAT.md 2.3, 2.5), or None when Zarr-Python
        writes the array itself (numeric data; every L3 array, 3.2)."""
        return None

    def compound_object_codec(self, kind: DataKind) -> str | None:
        """The object codec of a compound dataset (``pickle`` for L2 compounds with text or
        reference fields, FORMAT.md 2.3, 2.8), or None for a structured Zarr array (3.4)."""
        return None

    def compound_storage_dtype(self, kind: DataKind, rows: Any, *,
                               reserve: int | None = None) -> np.dtype:
        """The numpy dtype a compound dataset is stored with.

        Numeric fields keep their dtype (float64 when unknown); text, bytes and reference
        fields take :meth:`_string_field_dtype` (L2 ``object``, FORMAT.md 2.3; L3
        ``<U{max(longest, 512)}``, 3.4).

        Parameters
        ----------
        kind : DataKind
            A compound kind.
        rows : sequence of tuple
            The encoded rows (references already encoded), one value per field.
        reserve : int, optional
            Minimum length of string fields (L3), e.g. for rows appended later.
        """
        fields: list[tuple[str, Any]] = []
        for i, f in enumerate(kind.fields):
            if f.kind == "numeric":
                fields.append((f.name, f.dtype if f.dtype is not None else np.dtype("float64")))
            else:
                fields.append((f.name, self._string_field_dtype(rows, i, reserve)))
        return np.dtype(fields)

    def _string_field_dtype(self, rows: Any, index: int, reserve: int | None) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ chunks
    @property
    def chunk_key_encoding(self) -> dict | None:
        """The ``chunk_key_encoding`` argument of ``zarr.create_array`` for arrays this layout
        writes (a fresh dict), or None for Zarr's own default (L2: ``.``-separated keys)."""
        return None

    # ------------------------------------------------------------------ cached specifications
    #: Object codec of the cached specification arrays (FORMAT.md 2.6), None: a Zarr string
    #: array (3.6).
    spec_object_codec: str | None = None

    def spec_attributes(self) -> dict:
        """Attributes of a cached specification array (FORMAT.md 2.6 ``zarr_dtype: "scalar"``;
        3.6 none), a fresh dict."""
        return {}

    # ------------------------------------------------------------------ dataset attributes
    def dtype_attribute(self, kind: DataKind, scalar: bool) -> Any:
        """The value of :attr:`dtype_attr` for a dataset (FORMAT.md 2.2, 3.2); None for none."""
        raise NotImplementedError

    def dataset_attributes(self, attributes: dict, kind: DataKind, scalar: bool,
                           labels: tuple | None = None) -> dict:
        """A dataset's stored attributes: ``attributes`` (already encoded) followed by the
        reserved ones, ``_ARRAY_DIMENSIONS`` (FORMAT.md 2.1, 3.7), the dtype attribute (2.2,
        3.2) and, in L3, ``_REFERENCE_FIELDS`` (3.4).

        Parameters
        ----------
        attributes : dict
            The builder's attributes as JSON values.
        kind : DataKind
        scalar : bool
            The dataset is a scalar (shape ``()``).
        labels : tuple of str, optional
            Dimension labels.
        """
        value = self.dtype_attribute(kind, scalar)
        out = dict(attributes)
        if labels:
            out["_ARRAY_DIMENSIONS"] = list(labels)
        if value is not None:
            out[self.dtype_attr] = value
        out.update(self.compound_attributes(kind))
        return out

    def compound_attributes(self, kind: DataKind) -> dict:
        """Reserved attributes of a compound dataset besides its dtype attribute (L3
        ``_REFERENCE_FIELDS`` when it has reference fields, FORMAT.md 3.4)."""
        return {}

    # ----------------------------------------------------------------- attributes (write side)
    def encode_attribute(self, value: Any, where: str,
                         ref_encoder: Callable[[Any], tuple[str, str | None, str | None]]
                         ) -> Any:
        """Turn one builder attribute value into a JSON value.

        Parameters
        ----------
        value : object
            The value (str, bytes, number, bool, numpy scalar or array, list, reference).
        where : str
            ``<node path>@<attribute name>`` for error messages.
        ref_encoder : callable
            Called with a reference value (Builder or ReferenceBuilder); returns ``(path,
            object_id, root_object_id)`` of its target.

        Raises
        ------
        UnstorableValueError
            When the value cannot be stored, with the reason.
        """
        from hdmf.build import Builder, ReferenceBuilder

        if isinstance(value, (Builder, ReferenceBuilder)):
            return self.attribute_reference(*ref_encoder(value))
        if hasattr(value, "read_io") and hasattr(value, "object_id"):  # a Container
            raise UnstorableValueError(
                f"attribute holds a container ({type(value).__name__}); only builders and "
                "references can be stored", where)
        return _to_json(value, where)

    def attribute_reference(self, path: str, object_id: str | None,
                            root_object_id: str | None) -> dict:
        raise NotImplementedError

    # ----------------------------------------------------------------- attributes (read side)
    def decode_attributes(self, raw: dict, where: str, *, is_dataset: bool) -> NodeAttributes:
        """Split a node's stored attributes (both layouts' reserved names are accepted, as
        FORMAT.md 3.1 asks of an L3 reader).

        Raises
        ------
        FormatError
            When a reserved attribute is malformed.
        """
        if not isinstance(raw, dict):
            raise FormatError("attributes are not a JSON object", where)
        out = NodeAttributes()
        for key, value in raw.items():
            if key in ("zarr_link", "_LINKS"):
                out.links.extend(self._decode_links(value, where))
            elif key in ("zarr_dtype", "_DTYPE"):
                if value == "scalar":
                    out.scalar = True
                elif isinstance(value, list):
                    out.dtype = value
                    out.reference_fields.extend(
                        f["name"] for f in value
                        if isinstance(f, dict) and isinstance(f.get("name"), str)
                        and f.get("dtype") in ("object", "object_reference"))
                else:
                    out.dtype = value
            elif key == "_REFERENCE_FIELDS":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise FormatError("_REFERENCE_FIELDS must be a list of field names", where)
                out.reference_fields.extend(v for v in value if v not in out.reference_fields)
            elif key == "_SCALAR":
                out.scalar = bool(value)
            elif key == "_ARRAY_DIMENSIONS":
                out.dimension_labels = value if isinstance(value, list) else None
            elif key == "_COMPOUND_DTYPE":
                continue
            elif key == SPEC_LOC_ATTR:
                out.spec_location = self._decode_specloc(value, where)
            else:
                target = self.parse_attribute_reference(value, f"{where}@{key}")
                out.attributes[key] = target if target is not None else value
        return out

    @staticmethod
    def parse_attribute_reference(value: Any, where: str) -> RefTarget | None:
        """Return the target of a reference attribute value (either layout's wrapper), else None."""
        if not isinstance(value, dict):
            return None
        if "_REFERENCE" in value:
            return _ref_target(value["_REFERENCE"], where)
        if "zarr_dtype" in value:
            if value["zarr_dtype"] != "object":
                raise FormatError(f"attribute wrapper with zarr_dtype {value['zarr_dtype']!r}; "
                                  "only 'object' is defined", where)
            return _ref_target(value.get("value"), where)
        return None

    @staticmethod
    def _decode_specloc(value: Any, where: str) -> str:
        if isinstance(value, dict):
            target = Layout.parse_attribute_reference(value, where)
            if target is None:
                raise FormatError(".specloc is neither a path nor a reference", where)
            path = target.path.strip("/")
        elif not isinstance(value, str):
            raise FormatError(".specloc is not a string", where)
        else:
            path = value.strip("/")
        # checked like link paths (FORMAT.md 5): never a path outside the store
        return check_target_path(path, f"{where}@.specloc").strip("/")

    @staticmethod
    def _decode_links(value: Any, where: str) -> list[LinkEntry]:
        if not isinstance(value, list):
            raise FormatError("the links attribute must be a list", where)
        out = []
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise FormatError(f"malformed link entry {entry!r}", where)
            out.append(LinkEntry(entry["name"], _ref_target(entry, f"{where}/{entry['name']}")))
        return out

    # ----------------------------------------------------------------- links
    def encode_link(self, name: str, source: str, path: str) -> dict:
        """A link entry (FORMAT.md 2.4 / 3.5)."""
        return {"name": name, "source": source, "path": path}

    # ----------------------------------------------------------------- references
    def encode_dataset_reference(self, path: str, object_id: str | None,
                                 root_object_id: str | None) -> Any:
        """One element of a reference dataset or reference field."""
        raise NotImplementedError

    def decode_dataset_reference(self, value: Any, where: str) -> RefTarget | None:
        """Target of one stored reference element (None for a null reference)."""
        raise NotImplementedError

    def null_dataset_reference(self) -> Any:
        """The stored element of a null reference (L2 ``None``, FORMAT.md 2.5; L3 ``""``,
        3.5)."""
        raise NotImplementedError

    # --- added for backend
    def holds_consolidated(self, raw: bytes | None) -> bool:
        """True when the bytes stored at :attr:`consolidated_key` (None: absent) hold
        consolidated metadata (FORMAT.md 2.7, 3.7)."""
        raise NotImplementedError

    def is_group_document(self, document: Any) -> bool:
        """True when ``document``, parsed from a node's :attr:`group_document`, states this
        layout's Zarr format (for L2 a ``.zgroup``: the node is a group of that format)."""
        return isinstance(document, dict) and document.get("zarr_format") == self.zarr_format

    # --- added for storage
    def array_chunk_key_encoding(self, doc: dict) -> tuple[bool, Any] | None:
        """How the array metadata document ``doc`` of this layout names its chunk keys
        (FORMAT.md 2.3 for L2, 3.1 for L3).

        Parameters
        ----------
        doc : dict
            A parsed ``array_document`` (any JSON object: it is checked here).

        Returns
        -------
        (bool, object) or None
            ``(default, separator)``: ``default`` True for Zarr 3's ``default`` encoding (``c``
            then the indices), False for indices only (L2, Zarr 3's ``v2`` encoding);
            ``separator`` as declared (the caller accepts only ``"/"`` and ``"."``). None when
            ``doc`` is not an array document of this layout or declares another encoding.
        """
        raise NotImplementedError

    # --- added for stream
    def first_chunk_key(self, meta: dict) -> str | None:
        """Key of chunk ``(0, ..., 0)`` of an array, relative to the array (FORMAT.md 2.2,
        3.3), from its parsed document (:meth:`array_chunk_key_encoding`); None when the
        document names an encoding this package does not know (the caller then leaves the
        array to Zarr)."""
        shape = meta.get("shape")
        if not isinstance(shape, list):
            return None
        encoding = self.array_chunk_key_encoding(meta)
        if encoding is None or encoding[1] not in ("/", "."):
            return None
        default, sep = encoding
        if default:
            return "c" + "".join(f"{sep}0" for _ in shape)
        return sep.join("0" for _ in shape) if shape else "0"

    def array_metadata(self, document: dict) -> dict | None:
        """The array metadata of a parsed array document (L3: ``zarr.json`` without its
        attributes; None when it describes no array)."""
        raise NotImplementedError

    def consolidated_in_root(self) -> bool:
        """True when the consolidated metadata is part of the root group document (3.7)
        rather than a document of its own (``.zmetadata``, 2.7)."""
        raise NotImplementedError

    def has_object_arrays(self) -> bool:
        """True when arrays of Python objects (pickle, json2, vlen codecs; FORMAT.md 2.8),
        which Zarr-Python 3 cannot open, may occur."""
        return False

    def codec_ids(self, meta: dict, where: str = "") -> list[str]:
        """Every codec id (2.2: filters and compressor) or name (3.2: the codec chain, the
        inner and index codecs of a shard included) of an array document.

        Raises
        ------
        FormatError
            When a codec list or entry has the wrong JSON type.
        """
        raise NotImplementedError

    def is_known_codec(self, name: str) -> bool:
        """True when the installed codec registry (numcodecs for 2.2, Zarr's for 3.2) knows
        the codec id or name (FORMAT.md 5 refuses unknown ones)."""
        raise NotImplementedError

    def plain_numeric_dtype(self, meta: dict) -> np.dtype | None:
        """The numpy dtype of a plain numeric array, read off its document; None for any
        other data type (Zarr then says)."""
        raise NotImplementedError

    def is_text_array(self, meta: dict) -> bool:
        """True when the array document describes variable-length text (2.3: ``|O``; 3.3:
        ``string``)."""
        raise NotImplementedError


def _ref_target(value: Any, where: str) -> RefTarget:
    if not isinstance(value, dict):
        raise FormatError(f"reference {value!r} is not an object", where)
    source = value.get("source", ".")
    if source is None:
        source = "."
    if not isinstance(source, str) or "\x00" in source or "://" in source:
        raise FormatError(f"reference source {source!r} is not allowed", where)
    return RefTarget(source, check_target_path(value.get("path"), where))


def _to_json(value: Any, where: str) -> Any:
    """JSON value of a plain attribute (numbers, bools, text, bytes, arrays, lists)."""
    if value is None:
        raise UnstorableValueError("attribute value None cannot be stored", where)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise UnstorableValueError("bytes attribute is not valid UTF-8", where) from None
    if isinstance(value, (complex, np.complexfloating)):
        raise UnstorableValueError("complex numbers cannot be stored in JSON attributes", where)
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "c":
            raise UnstorableValueError("complex arrays cannot be stored in JSON attributes", where)
        if value.dtype.names is not None:
            raise UnstorableValueError("compound (structured) arrays cannot be stored as "
                                       "attributes", where)
        if value.dtype.kind == "V":
            raise UnstorableValueError(f"arrays of dtype {value.dtype} cannot be stored", where)
        return [_to_json(v, where) for v in value.tolist()] if value.ndim else _to_json(
            value.item(), where)
    if isinstance(value, (list, tuple)):
        return [_to_json(v, where) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise UnstorableValueError(
        f"attribute value of type {type(value).__name__} cannot be stored (JSON holds numbers, "
        "bools, text, lists and references)", where)
