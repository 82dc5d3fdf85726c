"""Register this package's Zarr data types and object codecs (FORMAT.md 2.5, 3.4).

:func:`register_data_types` adds to Zarr's data-type registry

- ``struct`` (:class:`~.struct_dtype.Struct`), the compound type of Zarr-Python >= 3.2 and
  hdmf-zarr 0.14, when the installed Zarr lacks it;
- the L2 object-array types of :mod:`.legacy_dtypes` (json2, pickle, vlen text/bytes with fill
  ``0``, structured with object fields);

and to numcodecs' codec registry the safe ``pickle``/``json2`` decoders of
:mod:`.legacy_codecs`. The package calls it on import of :mod:`hdmf_zarr.zarr_bridge`.

Any Zarr process gets them without importing ``hdmf_zarr``: pyproject.toml declares each data
type as a ``zarr.data_type`` entry point. Zarr-Python 3.1 collects those entry points but never
loads them (``DataTypeRegistry._lazy_load`` has no caller), so pyproject.toml also declares
:data:`Buffer` as a ``zarr.buffer`` entry point, which Zarr loads on its first store access:
loading it imports this module (registering everything) and hands Zarr back its own default
CPU buffer class, so Zarr's buffer registry is unchanged. ``zarr.open_group`` looks the buffer
class up before it parses any array document; a process whose very first Zarr call is
``zarr.open_array`` on such an array parses it first (Zarr 3.1 reads array documents with a fixed
buffer) and fails; it sees these types after any group open or chunk read, or once Zarr loads
``zarr.data_type`` entry points itself.
"""

from __future__ import annotations

import numcodecs
from zarr.core.buffer.cpu import Buffer
from zarr.core.dtype import data_type_registry

from .legacy_codecs import Json2Records, RestrictedPickle
from .legacy_dtypes import (
    ObjectJson2,
    ObjectPickle,
    StructuredObjects,
    VLenBytesLegacy,
    VLenUTF8Legacy,
)
from .struct_dtype import STRUCT_NAME, Struct

__all__ = ["register_data_types", "Buffer", "STRUCT_TYPE"]

#: What ``struct`` resolves to: Zarr's own type when it has one (>= 3.2), else ours.
STRUCT_TYPE = data_type_registry.contents.get(STRUCT_NAME, Struct)


def register_data_types() -> None:
    """Register the data types and object codecs above (idempotent).

    Zarr's variable-length text and bytes types are replaced by subclasses that differ only in
    also reading the fill value ``0``; a ``struct`` type Zarr already has is kept.
    """
    contents = data_type_registry.contents
    if STRUCT_NAME not in contents:
        data_type_registry.register(STRUCT_NAME, Struct)
    for cls in (ObjectJson2, ObjectPickle, StructuredObjects):
        data_type_registry.register(cls._zarr_v3_name, cls)
    legacy: type[VLenUTF8Legacy] | type[VLenBytesLegacy]
    for key, legacy in (("string", VLenUTF8Legacy), ("variable_length_bytes", VLenBytesLegacy)):
        current = contents.get(key)
        if current is not None and issubclass(legacy, current):
            data_type_registry.register(key, legacy)
    numcodecs.register_codec(RestrictedPickle, "pickle")
    numcodecs.register_codec(Json2Records, "json2")


register_data_types()
