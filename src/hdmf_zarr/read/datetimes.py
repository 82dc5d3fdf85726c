"""Datasets of dtype ``isodatetime`` read back as ``datetime`` objects (issue 12 item 9).

HDMF stores datetimes as ISO 8601 text (FORMAT.md 2.3: vlen-bytes in L2; 3.2: strings in L3).
hdmf's ObjectMapper parses that text into datetimes when it constructs containers, but only for
arrays it recognizes (numpy, h5py, Zarr), not for the L2 object arrays this package reads outside
Zarr. Those datasets are therefore handed to hdmf as numpy arrays of ``str``, as h5py hands them
over for HDF5 (hdmf reads them whole there too), so that hdmf parses them and mappers that parse
the text themselves (pynwb's ``file_create_date``) still get text.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_datetime_spec", "datetime_text"]

_DATETIME_DTYPES = ("isodatetime", "datetime")


def is_datetime_spec(spec) -> bool:
    """True when a dataset spec's dtype is ``isodatetime`` (or ``datetime``)."""
    return getattr(spec, "dtype", None) in _DATETIME_DTYPES


def datetime_text(raw) -> np.ndarray:
    """The whole ISO 8601 dataset as a numpy object array of ``str``.

    Parameters
    ----------
    raw : hdmf_zarr.zarr_bridge.object_array.ObjectArrayV2
        An L2 text or byte-string array (read within its size limits).

    Raises
    ------
    hdmf_zarr.errors.FormatError
        When an element is bytes that are not UTF-8, or not text at all.
    """
    from ..errors import FormatError

    values = np.asarray(raw[...], dtype=object)
    out = np.empty(values.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(values.reshape(-1)):
        if isinstance(v, (bytes, np.bytes_)):
            try:
                v = bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError(f"datetime element {i} is not UTF-8 text", raw.path) from None
        elif not isinstance(v, str):
            raise FormatError(f"datetime element {i} is {type(v).__name__}, not text", raw.path)
        flat[i] = str(v)
    return out
