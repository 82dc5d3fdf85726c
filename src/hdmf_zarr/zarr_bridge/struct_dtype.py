"""The ``struct`` data type of Zarr-Python >= 3.2, for Zarr-Python 3.1 (FORMAT.md 3.4).

Zarr-Python >= 3.2 (and therefore every compound the released hdmf-zarr 0.14 writes) names a
structured data type ``struct``, with object-style fields and a fill value that is an object of
per-field values::

    {"name": "struct", "configuration": {"fields": [{"name": "x", "data_type": "float32"}, ...]}}
    "fill_value": {"x": 0.0, ...}

Zarr-Python 3.1 knows only ``structured`` (pair-style fields, base64 fill) and refuses these
arrays ("No Zarr data type found"). :class:`Struct` reads them into the same numpy structured
dtype. It never matches a numpy dtype, so arrays created from numpy data keep Zarr's own
``structured`` type (which every 3.x reads); it writes ``struct`` back when Zarr re-serializes
an array document it read in that form.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, ClassVar, cast

import numpy as np
from zarr.core.dtype.npy.structured import Structured

from .runtime import DataTypeValidationError

__all__ = ["Struct", "STRUCT_NAME"]

#: The Zarr 3 name of the data type.
STRUCT_NAME = "struct"
#: Upper bound on the number of fields (a structured dtype larger than this is malformed).
_MAX_FIELDS = 4096


def _field_list(fields: Any) -> list[tuple[str, Any]]:
    """``(name, data_type JSON)`` of each field, in either the object or the pair style."""
    if not isinstance(fields, list) or not fields or len(fields) > _MAX_FIELDS:
        raise DataTypeValidationError(f"struct fields must be a non-empty list, not {fields!r}")
    out = []
    for entry in fields:
        if isinstance(entry, Mapping) and set(entry) == {"name", "data_type"}:
            name, data_type = entry["name"], entry["data_type"]
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            name, data_type = entry
        else:
            raise DataTypeValidationError(f"malformed struct field {entry!r}")
        if not isinstance(name, str) or not name:
            raise DataTypeValidationError(f"struct field name {name!r} is not a string")
        out.append((name, data_type))
    if len({n for n, _ in out}) != len(out):
        raise DataTypeValidationError("struct field names repeat")
    return out


class Struct(Structured):
    """Zarr-Python >= 3.2's ``struct`` data type, read by Zarr-Python 3.1 (FORMAT.md 3.4).

    Instances hold ``fields``, a tuple of ``(name, ZDType)`` pairs, like Zarr's ``Structured``;
    the native dtype is the numpy structured dtype of those fields (little-endian, packed).

    JSON accepted (Zarr format 3 only): ``{"name": "struct", "configuration": {"fields":
    [...]}}`` with fields ``{"name": str, "data_type": <data type JSON>}`` or ``[name, <data
    type JSON>]``. Fill values: an object of per-field values (missing fields are zero/empty),
    or base64 of the raw record bytes.

    Raises
    ------
    zarr.core.dtype.common.DataTypeValidationError
        From :meth:`from_json` for anything else (so that Zarr tries its other types), and
        from :meth:`from_native_dtype` always.
    """

    _zarr_v3_name: ClassVar[str] = STRUCT_NAME  # type: ignore[assignment]

    @classmethod
    def from_native_dtype(cls, dtype):
        """Never: numpy structured dtypes map to Zarr's own ``structured`` type."""
        raise DataTypeValidationError(f"{cls.__name__} is only read from stored metadata")

    @classmethod
    def _check_json_v3(cls, data) -> bool:  # type: ignore[override]  # (a struct, not structured)
        return (isinstance(data, Mapping) and data.get("name") == STRUCT_NAME
                and set(data) == {"name", "configuration"}
                and isinstance(data["configuration"], Mapping)
                and set(data["configuration"]) == {"fields"})

    @classmethod
    def _from_json_v2(cls, data):
        raise DataTypeValidationError("struct is a Zarr format 3 data type")

    @classmethod
    def _from_json_v3(cls, data):
        from zarr.core.dtype import get_data_type_from_json

        if not cls._check_json_v3(data):
            raise DataTypeValidationError(f"not a struct data type: {data!r}")
        fields = []
        for name, data_type in _field_list(data["configuration"]["fields"]):
            try:
                fields.append((name, get_data_type_from_json(data_type, zarr_format=3)))
            except ValueError as exc:
                raise DataTypeValidationError(f"struct field {name!r}: {exc}") from None
        return cls(fields=tuple(fields))

    def to_json(self, zarr_format):
        """The ``struct`` JSON with object-style fields (Zarr format 3 only)."""
        if zarr_format != 3:
            raise ValueError("struct is a Zarr format 3 data type")
        return {"name": STRUCT_NAME, "configuration": {"fields": [
            {"name": name, "data_type": dt.to_json(zarr_format=3)} for name, dt in self.fields]}}

    def from_json_scalar(self, data, *, zarr_format) -> np.void:
        """A record from a per-field object (absent fields zero) or base64 record bytes.

        Raises
        ------
        TypeError
            For other JSON, unknown field names, or field values their type refuses.
        """
        native = self.to_native_dtype()
        if isinstance(data, str):
            raw = base64.b64decode(data.encode("ascii"), validate=True)
            if len(raw) != native.itemsize:
                raise TypeError(f"struct fill of {len(raw)} bytes, the record has "
                                f"{native.itemsize}")
            return np.frombuffer(raw, dtype=native)[0]
        if not isinstance(data, Mapping):
            raise TypeError(f"struct fill value {data!r} is neither an object nor base64")
        names = {n for n, _ in self.fields}
        unknown = set(data) - names
        if unknown:
            raise TypeError(f"struct fill value names unknown fields {sorted(unknown)}")
        out = np.zeros((), dtype=native)
        for name, dt in self.fields:
            if name in data:
                out[name] = dt.from_json_scalar(data[name], zarr_format=zarr_format)
        return cast(np.void, out[()])

    # the JSON scalar of struct is an object of fields (FORMAT.md 3.4), not structured's base64
    def to_json_scalar(self, data, *, zarr_format) -> dict:  # type: ignore[override]
        """The per-field object form of a record."""
        record = self.cast_scalar(data)
        return {name: dt.to_json_scalar(record[name], zarr_format=zarr_format)
                for name, dt in self.fields}
