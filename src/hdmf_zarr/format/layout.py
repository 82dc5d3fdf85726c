"""What the two on-disk conventions share, and the decoding of reserved attributes.

A :class:`Layout` is pure: it turns builder-level facts (attributes, links, references, data
kinds) into JSON values and back, and never touches a store. ``layout2.L2`` and ``layout3.L3``
implement FORMAT.md sections 2 and 3. The writer and the reader call a layout; they never test
the format version themselves (DESIGN.md, "The flow of data").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError, UnstorableValueError
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
    """Base class of the on-disk layouts; see ``L2`` and ``L3``."""

    zarr_format: int = 0
    name: str = ""
    links_attr: str = ""
    dtype_attr: str = ""

    @property
    def chunk_key_encoding(self) -> dict | None:
        """The ``chunk_key_encoding`` argument of ``zarr.create_array`` for arrays this layout
        writes (a fresh dict), or None for Zarr's own default (L2: ``.``-separated keys)."""
        return None

    # ----------------------------------------------------------------- attributes (write side)
    def encode_attribute(self, value: Any, where: str, ref_encoder) -> Any:
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
                        f.get("name") for f in value
                        if isinstance(f, dict) and f.get("dtype") in ("object", "object_reference"))
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

    # --- added for storage
    #: Name of the metadata document of an array in this layout (``.zarray``, ``zarr.json``).
    array_document: str = ""

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

