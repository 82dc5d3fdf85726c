"""Validation of node documents shared by the reader and ``hdmf-zarr info`` (FORMAT.md 2.1,
2.3, 3.1 and 5).

Both consumers read the same JSON documents; before they look inside one, they run it through
:func:`check_node_document`, so that a document of the wrong JSON shape (a ``chunk_grid`` that
is a string, a sharding configuration that is a list, a shape of floats...) is a
:class:`~hdmf_zarr.errors.FormatError` naming the node, and never an ``AttributeError`` or
``TypeError`` of whoever parses it next.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ..errors import FormatError

__all__ = ["check_node_document", "check_shape"]

_MAX_NDIM = 32
_MAX_EXTENT = 2**63


def _fail(what: str, where: str) -> NoReturn:
    raise FormatError(what, where)


def _type(value: Any) -> str:
    return type(value).__name__


def check_shape(value: Any, what: str, where: str, *, positive: bool = False) -> list[int]:
    """A shape of at most 32 non-negative integers below 2**63 (positive for chunk shapes).

    Raises
    ------
    FormatError
        Naming ``where`` and ``what`` otherwise.
    """
    if not isinstance(value, list) or len(value) > _MAX_NDIM or not all(
            type(n) is int and (n > 0 if positive else n >= 0) and n < _MAX_EXTENT
            for n in value):
        _fail(f"{what} must be a list of at most {_MAX_NDIM} "
              f"{'positive' if positive else 'non-negative'} integers below 2**63 (found "
              f"{_type(value)})", where)
    return value


def _check_v3_codecs(codecs: Any, where: str, depth: int = 0) -> None:
    if depth > 4:
        _fail("sharding codecs nested too deeply", where)
    if not isinstance(codecs, list):
        _fail(f"codecs must be a list (found {_type(codecs)})", where)
    for codec in codecs:
        if isinstance(codec, str):
            continue
        if not isinstance(codec, dict) or not isinstance(codec.get("name"), str):
            _fail("a codec entry is neither a name nor an object with a string name", where)
        config = codec.get("configuration")
        if config is not None and not isinstance(config, dict):
            _fail(f"configuration of codec {codec['name']!r} must be an object (found "
                  f"{_type(config)})", where)
        if codec["name"] == "sharding_indexed":
            if not isinstance(config, dict):
                _fail("sharding_indexed has no configuration object", where)
            check_shape(config.get("chunk_shape"), "sharding chunk_shape", where, positive=True)
            _check_v3_codecs(config.get("codecs", []), where, depth + 1)
            _check_v3_codecs(config.get("index_codecs", []), where, depth + 1)


def _check_v3_array(doc: dict, where: str) -> None:
    check_shape(doc.get("shape"), "shape", where)
    grid = doc.get("chunk_grid")
    if not isinstance(grid, dict) or not isinstance(grid.get("name"), str):
        _fail(f"chunk_grid must be an object with a string name (found {_type(grid)})", where)
    config = grid.get("configuration")
    if not isinstance(config, dict):
        _fail(f"chunk_grid configuration must be an object (found {_type(config)})", where)
    if grid["name"] == "regular":
        check_shape(config.get("chunk_shape"), "chunk_shape", where, positive=True)
    data_type = doc.get("data_type")
    if not isinstance(data_type, (str, dict)) or (
            isinstance(data_type, dict) and not isinstance(data_type.get("name"), str)):
        _fail(f"data_type must be a name or an object with a string name (found "
              f"{_type(data_type)})", where)
    if isinstance(data_type, dict) and data_type.get("configuration") is not None \
            and not isinstance(data_type["configuration"], dict):
        _fail("data_type configuration must be an object", where)
    _check_v3_codecs(doc.get("codecs", []), where)
    encoding = doc.get("chunk_key_encoding")
    if encoding is not None and not (isinstance(encoding, dict)
                                     and isinstance(encoding.get("name"), str)
                                     and isinstance(encoding.get("configuration", {}), dict)):
        _fail("chunk_key_encoding must be an object with a string name", where)
    names = doc.get("dimension_names")
    if names is not None and not isinstance(names, list):
        _fail(f"dimension_names must be a list or null (found {_type(names)})", where)


def _check_v2_array(doc: dict, where: str) -> None:
    check_shape(doc.get("shape"), "shape", where)
    check_shape(doc.get("chunks"), "chunks", where)
    if not isinstance(doc.get("dtype"), (str, list)):
        _fail(f"dtype must be a string or a list (found {_type(doc.get('dtype'))})", where)
    filters = doc.get("filters")
    if filters is not None and (not isinstance(filters, list) or not all(
            isinstance(f, dict) and isinstance(f.get("id"), str) for f in filters)):
        _fail("filters must be null or a list of objects with a string id", where)
    compressor = doc.get("compressor")
    if compressor is not None and not (isinstance(compressor, dict)
                                       and isinstance(compressor.get("id"), str)):
        _fail("compressor must be null or an object with a string id", where)
    if doc.get("order", "C") not in ("C", "F"):
        _fail("order must be C or F", where)
    if doc.get("dimension_separator") not in (None, ".", "/"):
        _fail("dimension_separator must be . or /", where)


def check_node_document(doc: Any, name: str, where: str) -> dict:
    """Check the JSON shape of one node document before anyone reads inside it.

    Parameters
    ----------
    doc : object
        The parsed document.
    name : str
        Its kind: ``"zarr.json"`` (L3 group or array), ``".zarray"``, ``".zgroup"`` or
        ``".zattrs"`` (L2).
    where : str
        Its store key or node path, named in errors.

    Returns
    -------
    dict
        ``doc``, unchanged.

    Raises
    ------
    FormatError
        When the document is not an object, an L3 ``node_type`` is unknown or its
        ``attributes`` are not an object, or an array document has a shape, chunk grid, chunk
        shape, data type, codec list (sharding configuration included), filter list or
        compressor of the wrong JSON type.
    """
    if not isinstance(doc, dict):
        _fail(f"{name} is not a JSON object (found {_type(doc)})", where)
    if name == "zarr.json":
        attrs = doc.get("attributes")
        if attrs is not None and not isinstance(attrs, dict):
            _fail("the attributes of zarr.json are not a JSON object", where)
        kind = doc.get("node_type")
        if kind == "array":
            _check_v3_array(doc, where)
        elif kind != "group":
            _fail(f"node_type {kind!r} is neither group nor array", where)
    elif name == ".zarray":
        _check_v2_array(doc, where)
    return doc
