"""numcodecs object codecs that let plain Zarr read L2 object arrays safely (FORMAT.md 2.5, 5).

Zarr-Python 3 decodes Zarr format 2 filters with the numcodecs codec registered under the
filter's id. For the two object codecs of hdmf-zarr stores this module registers:

- :class:`RestrictedPickle` under ``pickle``: decoding goes through the restricted unpickler of
  :func:`hdmf_zarr.format.safe_pickle.restricted_loads` (four numpy/ZarrReference globals,
  nothing that runs code), never through ``pickle.loads``, whatever
  ``NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE`` says. Encoding is numcodecs' own.
- :class:`Json2Records` under ``json2``: numcodecs' JSON codec, which also decodes chunks of
  structured arrays (0.13 writes records as JSON lists with the dtype ``|V<n>``; numcodecs
  cannot rebuild them) as object arrays of tuples, which Zarr casts to the structured dtype.

Once this package is installed, both replace numcodecs' classes in its codec registry for the
whole process (see ``data_types``): that turns general unpickling off for every pickle codec
configuration numcodecs hands out, which FORMAT.md 5 requires.
"""

from __future__ import annotations

import numpy as np
from numcodecs.compat import ensure_contiguous_ndarray, ensure_text
from numcodecs.json import JSON
from numcodecs.pickles import Pickle

__all__ = ["RestrictedPickle", "Json2Records"]


class RestrictedPickle(Pickle):
    """numcodecs' ``pickle`` codec with decoding restricted to FORMAT.md 2.5.

    Parameters
    ----------
    protocol : int, optional
        Pickle protocol used to encode.

    Raises
    ------
    hdmf_zarr.errors.UnsafePickleError
        From :meth:`decode`, when the stream names any other global or uses a forbidden opcode.
    hdmf_zarr.errors.FormatError
        From :meth:`decode`, for a malformed stream or a result that is not an array.
    """

    codec_id = "pickle"

    def decode(self, buf, out=None):
        """The array a pickled chunk holds, built by the restricted decoder only."""
        from ..errors import FormatError
        from ..format.safe_pickle import restricted_loads

        data = ensure_contiguous_ndarray(buf).tobytes()
        obj = restricted_loads(data, array_path="<pickle codec>")
        if not isinstance(obj, np.ndarray):
            raise FormatError(f"pickled chunk holds a {type(obj).__name__}, not an array",
                              "<pickle codec>")
        if out is not None:
            np.copyto(out, obj)
            return out
        return obj


class Json2Records(JSON):
    """numcodecs' ``json2`` codec that also decodes chunks of structured arrays.

    A chunk is ``[elements..., dtype, shape]``; for a structured dtype (``|V<n>``) every element
    is a list of field values, returned as an object array of tuples.
    """

    codec_id = "json2"

    def decode(self, buf, out=None):
        """The chunk's elements: numcodecs' decoding, or tuples for structured records.

        Raises
        ------
        ValueError
            When a structured chunk is not a list of records followed by dtype and shape.
        """
        items = self._decoder.decode(ensure_text(buf, self._text_encoding))
        dtype = items[-2] if isinstance(items, list) and len(items) >= 2 else None
        if not (isinstance(dtype, str) and dtype.startswith("|V")):
            return super().decode(buf, out=out)
        shape = items[-1]
        records = items[:-2]
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"json2 chunk shape {shape!r} is not a list of sizes")
        if len(shape) != 1 or len(records) != shape[0]:
            raise ValueError("json2 chunk of records must be 1-D with one record per element")
        dec = np.empty(len(records), dtype=object)
        for i, rec in enumerate(records):
            if not isinstance(rec, list):
                raise ValueError(f"json2 record {i} is not a list")
            dec[i] = tuple(rec)
        if out is not None:
            np.copyto(out, dec)
            return out
        return dec
