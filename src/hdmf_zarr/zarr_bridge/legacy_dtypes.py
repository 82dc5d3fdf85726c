"""Zarr data types for the object arrays of layout L2, so that plain Zarr-Python 3 opens them.

hdmf-zarr 0.13 (and this project's L2 writer) store object arrays that Zarr-Python 3.1 cannot
open (FORMAT.md 2.3, 2.5): ``zarr.open_group`` fails on the whole store with "No Zarr data type
found that matches {'name': '|O', 'object_codec_id': 'json2'}". These data types make them
open in any Zarr 3 process where this package is installed (``data_types`` registers them):

- :class:`ObjectJson2`, :class:`ObjectPickle`: ``"|O"`` arrays whose object codec is json2
  (reference dicts, cached specifications) or pickle (0.13's reference datasets). Pickled chunks
  are decoded only by :class:`~hdmf_zarr.zarr_bridge.legacy_codecs.RestrictedPickle`.
- :class:`VLenUTF8Legacy`, :class:`VLenBytesLegacy`: Zarr's own variable-length text and bytes
  types, also accepting the ``fill_value`` ``0`` that 0.13 writes (read as ``""`` / ``b""``).
- :class:`StructuredObjects`: structured dtypes with ``"|O"`` fields (compounds with
  references or text), whose stored fill (base64 of a pickle or of JSON) is never decoded.

None of them is ever chosen for a numpy dtype (they refuse ``from_native_dtype``): arrays
created from numpy data keep Zarr's own types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
from zarr.core.dtype.common import HasObjectCodec
from zarr.core.dtype.npy.bytes import VariableLengthBytes
from zarr.core.dtype.npy.string import VariableLengthUTF8
from zarr.core.dtype.npy.structured import Structured
from zarr.core.dtype.wrapper import ZDType

from .runtime import DataTypeValidationError

__all__ = ["ObjectJson2", "ObjectPickle", "ObjectField", "VLenUTF8Legacy", "VLenBytesLegacy",
           "StructuredObjects", "LEGACY_OBJECT_CODECS"]

#: Object codecs of L2 object arrays other than vlen-utf8/vlen-bytes (FORMAT.md 2.5).
LEGACY_OBJECT_CODECS = ("json2", "pickle")
_MAX_FIELDS = 4096


def _empty_fill(data: Any) -> bool:
    """The fill values L2 object arrays carry: ``0`` (0.13), ``""`` (Zarr 3), ``null``."""
    return data is None or data == "" or (type(data) is int and data == 0)


def _is_v2_spec(data: Any) -> bool:
    return isinstance(data, Mapping) and set(data) == {"name", "object_codec_id"}


@dataclass(frozen=True, kw_only=True)
class _ObjectBase(ZDType[np.dtypes.ObjectDType, Any], HasObjectCodec):
    """An ``"|O"`` array with one object codec; elements are Python objects, fill None."""

    dtype_cls = np.dtypes.ObjectDType
    object_codec_id: ClassVar[str]

    @classmethod
    def from_native_dtype(cls, dtype):
        raise DataTypeValidationError(f"{cls.__name__} is only read from stored metadata")

    def to_native_dtype(self) -> np.dtypes.ObjectDType:
        return np.dtype(object)  # type: ignore[return-value]

    @classmethod
    def _from_json_v2(cls, data):
        if _is_v2_spec(data) and data["name"] == "|O" and \
                data["object_codec_id"] == cls.object_codec_id:
            return cls()
        raise DataTypeValidationError(f"not an {cls.object_codec_id} object array: {data!r}")

    @classmethod
    def _from_json_v3(cls, data):
        raise DataTypeValidationError(f"{cls.__name__} is a Zarr format 2 data type")

    def to_json(self, zarr_format):
        if zarr_format != 2:
            raise ValueError(f"{type(self).__name__} is a Zarr format 2 data type")
        return {"name": "|O", "object_codec_id": self.object_codec_id}

    def _check_scalar(self, data) -> bool:
        return True

    def cast_scalar(self, data):
        return data

    def default_scalar(self):
        return None

    def from_json_scalar(self, data, *, zarr_format):
        """``None`` for every fill L2 object arrays carry (``0``, ``""``, ``null``).

        Raises
        ------
        TypeError
            For any other fill value.
        """
        if _empty_fill(data):
            return None
        raise TypeError(f"unexpected fill value {data!r} for an {self.object_codec_id} array")

    def to_json_scalar(self, data, *, zarr_format):
        return None


@dataclass(frozen=True, kw_only=True)
class ObjectJson2(_ObjectBase):
    """``{"name": "|O", "object_codec_id": "json2"}``: JSON-encoded objects (FORMAT.md 2.5)."""

    _zarr_v3_name: ClassVar[str] = "hdmf_zarr.v2_object_json2"
    object_codec_id: ClassVar[str] = "json2"


@dataclass(frozen=True, kw_only=True)
class ObjectPickle(_ObjectBase):
    """``{"name": "|O", "object_codec_id": "pickle"}``: pickled objects, decoded only by the
    restricted decoder of FORMAT.md 2.5 (``legacy_codecs.RestrictedPickle``)."""

    _zarr_v3_name: ClassVar[str] = "hdmf_zarr.v2_object_pickle"
    object_codec_id: ClassVar[str] = "pickle"


@dataclass(frozen=True, kw_only=True)
class ObjectField(_ObjectBase):
    """The ``"|O"`` field of a structured dtype (not registered: only inside
    :class:`StructuredObjects`)."""

    _zarr_v3_name: ClassVar[str] = "hdmf_zarr.v2_object_field"
    object_codec_id: ClassVar[str] = ""

    def to_json(self, zarr_format):
        if zarr_format != 2:
            raise ValueError("an object field is a Zarr format 2 data type")
        return {"name": "|O", "object_codec_id": None}


class VLenUTF8Legacy(VariableLengthUTF8):
    """Zarr's variable-length UTF-8 type that also reads the fill value ``0`` of hdmf-zarr 0.13
    as ``""`` (FORMAT.md 2.3)."""

    def from_json_scalar(self, data, *, zarr_format):
        if zarr_format == 2 and type(data) is int and data == 0:
            return ""
        return super().from_json_scalar(data, zarr_format=zarr_format)


class VLenBytesLegacy(VariableLengthBytes):
    """Zarr's variable-length bytes type that also reads the fill value ``0`` of hdmf-zarr 0.13
    as ``b""`` (FORMAT.md 2.3)."""

    def from_json_scalar(self, data, *, zarr_format):
        if zarr_format == 2 and type(data) is int and data == 0:
            return b""
        return super().from_json_scalar(data, zarr_format=zarr_format)


class StructuredObjects(Structured):
    """A Zarr format 2 structured dtype with ``"|O"`` fields, encoded by json2 or pickle
    (compound datasets with references or text, FORMAT.md 2.5).

    The stored fill value (0.13: base64 of a pickled ``0`` or of JSON) is never decoded: absent
    chunks read as zeros with ``None`` in the object fields.
    """

    _zarr_v3_name: ClassVar[str] = "hdmf_zarr.v2_structured_objects"  # type: ignore[assignment]

    @classmethod
    def from_native_dtype(cls, dtype):
        raise DataTypeValidationError(f"{cls.__name__} is only read from stored metadata")

    @classmethod
    def _from_json_v2(cls, data):
        from zarr.core.dtype import get_data_type_from_json

        if not (_is_v2_spec(data) and isinstance(data["name"], list)
                and data["object_codec_id"] in LEGACY_OBJECT_CODECS):
            raise DataTypeValidationError(f"not a structured object array: {data!r}")
        spec = data["name"]
        if not spec or len(spec) > _MAX_FIELDS or not any(
                isinstance(e, list) and len(e) == 2 and e[1] == "|O" for e in spec):
            raise DataTypeValidationError(f"no object field in {spec!r}")
        fields = []
        for entry in spec:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                    and isinstance(entry[1], str)):
                raise DataTypeValidationError(f"unsupported structured field {entry!r}")
            name, code = entry
            if code == "|O":
                fields.append((name, ObjectField()))
            else:
                try:
                    sub = get_data_type_from_json({"name": code, "object_codec_id": None},
                                                  zarr_format=2)
                except ValueError as exc:
                    raise DataTypeValidationError(f"field {name!r}: {exc}") from None
                fields.append((name, sub))
        return cls(fields=tuple(fields))

    @classmethod
    def _from_json_v3(cls, data):
        raise DataTypeValidationError(f"{cls.__name__} is a Zarr format 2 data type")

    @classmethod
    def _from_json_resolved(cls, data, *, resolver):
        """Zarr >= 3.2 creates every data type through this method; its ``Structured`` version
        resolves each field in the registry, which has no type for a ``|O`` field. Read the
        document with :meth:`_from_json_v2` as on Zarr 3.1."""
        return cls.from_json(data, zarr_format=resolver.zarr_format)

    def to_json(self, zarr_format):
        if zarr_format != 2:
            raise ValueError("a structured object array is a Zarr format 2 data type")
        return super().to_json(zarr_format=2)

    def _empty_record(self) -> np.void:
        native = self.to_native_dtype()
        out = np.zeros((), dtype=native)
        for name, dt in self.fields:
            if isinstance(dt, ObjectField):
                out[name] = None
        return cast(np.void, out[()])

    def default_scalar(self) -> np.void:
        return self._empty_record()

    def from_json_scalar(self, data, *, zarr_format):
        """The empty record, whatever the stored fill (never decoded)."""
        return self._empty_record()

    def to_json_scalar(self, data, *, zarr_format):
        return None

    def _cast_scalar_unchecked(self, data):
        if isinstance(data, int) and data == 0:
            return self._empty_record()
        out = np.empty((), dtype=self.to_native_dtype())
        out[()] = tuple(data) if isinstance(data, (list, tuple)) else data
        return out[()]
