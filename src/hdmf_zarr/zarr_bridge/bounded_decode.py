"""Decompression bounded by the size the metadata implies (FORMAT.md 5, issue 14 item 7).

A compressed chunk of a few hundred kilobytes can expand to gigabytes (a zstd frame without a
content size, a multi-member gzip stream, a blosc or lz4 header announcing any size). Every
decode of this package goes through :func:`decompress`, which stops as soon as the output
exceeds the bound the caller derives from the chunk (``limits.decoded_chunk_limit``), without
first producing the whole output:

- zlib, gzip (every member), bz2 and lzma streams are decompressed incrementally with a maximum
  output length;
- zstd frames with a content size, blosc and lz4 buffers are refused when their header
  announces more than the bound; zstd frames without a content size are decompressed into a
  buffer of the bound's size, which the decompressor cannot overrun;
- other codecs (filters that do not compress) are decoded, then checked.

:mod:`.bounded_codecs` applies the same bound inside Zarr's codec pipeline (the compressors of
Zarr format 2 arrays, and Zarr 3's zstd, gzip, blosc and ``numcodecs.*`` bytes-to-bytes
codecs), with :func:`spec_limit` of the chunk specification Zarr passes to every decode.
"""

from __future__ import annotations

import bz2
import lzma
import math
import re
import zlib
from typing import Literal

import numcodecs
import numcodecs.compat
import numpy as np

from ..format import limits

__all__ = ["DecodedSizeError", "decompress", "spec_limit"]

_U32_LE: Literal["little"] = "little"


class DecodedSizeError(ValueError):
    """A chunk decompresses to more bytes than its metadata allows. Internal to the readers,
    which turn it into :class:`~hdmf_zarr.errors.FormatError` naming the array path."""


def _too_big(codec_id: str, limit: int, announced: int | None = None) -> DecodedSizeError:
    said = f" (its header announces {announced})" if announced is not None else ""
    return DecodedSizeError(f"{codec_id} chunk decompresses beyond the limit of {limit} bytes "
                            f"that its chunk shape and data type allow{said}")


def _stream(codec_id: str, make, raw: bytes, limit: int, multi: bool) -> bytes:
    """Incremental decompression of one or more concatenated streams of ``make()``."""
    out = bytearray()
    data = bytes(raw)
    while True:
        engine = make()
        chunk = engine.decompress(data, limit + 1 - len(out))
        out += chunk
        if len(out) > limit:
            raise _too_big(codec_id, limit)
        # output held back by max_length: keep draining without new input
        while not engine.eof and getattr(engine, "needs_input", True) is False:
            chunk = engine.decompress(b"", limit + 1 - len(out))
            if not chunk:
                break
            out += chunk
            if len(out) > limit:
                raise _too_big(codec_id, limit)
        if not engine.eof:
            raise DecodedSizeError(f"{codec_id} stream is truncated")
        data = engine.unused_data
        if not multi or not data:
            return bytes(out)


def _zlib_engine(wbits: int):
    engine = zlib.decompressobj(wbits)

    class _Engine:  # zlib's object has no needs_input: emulate it with unconsumed_tail
        eof = property(lambda self: engine.eof)
        unused_data = property(lambda self: engine.unused_data)

        @property
        def needs_input(self):
            return not engine.unconsumed_tail

        def decompress(self, data, max_length):
            data = data or engine.unconsumed_tail
            return engine.decompress(data, max(max_length, 1))

    return _Engine()


def _zstd_content_size(raw: bytes) -> int | None:
    """Content size of the first zstd frame, None when the frame does not state it."""
    if len(raw) < 6 or raw[:4] != b"\x28\xb5\x2f\xfd":
        return None
    fhd = raw[4]
    fcs_flag, single, did_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[did_flag]
    size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if size == 0 or len(raw) < pos + size:
        return None
    value = int.from_bytes(raw[pos:pos + size], "little")
    return value + 256 if size == 2 else value


_ZSTD_GOT = re.compile(r"expected to decompress \d+, got (\d+)")


def _zstd(raw: bytes, limit: int) -> bytes:
    from numcodecs import zstd

    declared = _zstd_content_size(raw)
    if declared is not None:
        if declared > limit:
            raise _too_big("zstd", limit, declared)
        # numcodecs allocates the declared size; further frames cannot overrun it
        return bytes(zstd.decompress(raw))
    dest = bytearray(limit)
    try:
        zstd.decompress(raw, dest)
        return bytes(dest)
    except RuntimeError as exc:
        # numcodecs decompresses into ``dest`` and reports how much it produced
        got = _ZSTD_GOT.search(str(exc))
        if got is None:
            if "too small" in str(exc):
                raise _too_big("zstd", limit) from None
            raise
        return bytes(dest[:int(got.group(1))])


def _lzma_engine(codec):
    fmt = getattr(codec, "format", lzma.FORMAT_AUTO)
    filters = getattr(codec, "filters", None)
    if fmt == lzma.FORMAT_RAW:
        return lambda: lzma.LZMADecompressor(format=fmt, filters=filters)
    return lambda: lzma.LZMADecompressor(format=lzma.FORMAT_AUTO if fmt == lzma.FORMAT_XZ
                                         else fmt)


def decompress(codec, raw, limit: int) -> bytes:
    """Decode ``raw`` with the numcodecs ``codec``, producing at most ``limit`` bytes.

    Parameters
    ----------
    codec : numcodecs.abc.Codec
        The compressor (or any bytes-to-bytes numcodecs codec).
    raw : bytes-like
        The stored chunk.
    limit : int
        Largest output accepted (``limits.decoded_chunk_limit``).

    Returns
    -------
    bytes
        The decoded bytes.

    Raises
    ------
    DecodedSizeError
        When the output would exceed ``limit``, before it is produced in full.
    Exception
        The codec's own error for a corrupt stream.
    """
    codec_id = getattr(codec, "codec_id", type(codec).__name__)
    raw = numcodecs.compat.ensure_bytes(raw) if not isinstance(raw, bytes) else raw
    if codec_id == "zlib":
        return _stream(codec_id, lambda: _zlib_engine(zlib.MAX_WBITS), raw, limit, False)
    if codec_id == "gzip":
        return _stream(codec_id, lambda: _zlib_engine(16 + zlib.MAX_WBITS), raw, limit, True)
    if codec_id == "bz2":
        return _stream(codec_id, bz2.BZ2Decompressor, raw, limit, True)
    if codec_id == "lzma":
        return _stream(codec_id, _lzma_engine(codec), raw, limit, True)
    if codec_id == "zstd":
        return _zstd(raw, limit)
    if codec_id == "blosc":
        if len(raw) < 16:
            raise DecodedSizeError("blosc chunk shorter than its header")
        announced = int.from_bytes(raw[4:8], _U32_LE)
        if announced > limit:
            raise _too_big(codec_id, limit, announced)
    elif codec_id == "lz4":
        if len(raw) < 4:
            raise DecodedSizeError("lz4 chunk shorter than its header")
        announced = int.from_bytes(raw[:4], _U32_LE)
        if announced > limit:
            raise _too_big(codec_id, limit, announced)
    out = codec.decode(raw)
    size = np.asarray(out).nbytes if not isinstance(out, (bytes, bytearray)) else len(out)
    if size > limit:
        raise _too_big(codec_id, limit)
    return out if isinstance(out, bytes) else numcodecs.compat.ensure_bytes(out)


def spec_limit(chunk_spec) -> int:
    """The bound of :func:`decompress` for a chunk described by a Zarr ``ArraySpec``."""
    try:
        native = chunk_spec.dtype.to_native_dtype()
        # objects and numpy's StringDType hold variable-length values
        itemsize = 0 if native.kind in "OT" else native.itemsize
    except Exception:
        itemsize = 0
    return limits.decoded_chunk_limit(math.prod(chunk_spec.shape), itemsize)
