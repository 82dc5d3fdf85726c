"""Tests of the bounded decompression (issue 14 item 7, FORMAT.md 5)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib

import numcodecs
import numcodecs.zstd
import numpy as np
import pytest
import zarr

import hdmf_zarr  # noqa: F401 - installs the bound in Zarr's codecs
from hdmf_zarr.zarr_bridge.bounded_decode import DecodedSizeError, decompress

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


def _zstd_without_size(data: bytes) -> bytes:
    """A zstd frame that states no content size (what a streaming compressor writes): the
    frame numcodecs writes, with its header rewritten to a window descriptor instead."""
    c = numcodecs.zstd.compress(data, 1)
    fhd = c[4]
    fcs = (1 if (fhd >> 5) & 1 else 0, 2, 4, 8)[fhd >> 6]
    assert not fhd & 3 and fcs
    if (fhd >> 5) & 1:  # single segment: the window is the content size
        wlog = max(10, (len(data) - 1).bit_length())
        window, body = bytes([(wlog - 10) << 3]), c[5 + fcs:]
    else:
        window, body = c[5:6], c[6 + fcs:]
    return c[:4] + bytes([fhd & 0b100]) + window + body


CODECS = [numcodecs.Zlib(level=1), numcodecs.GZip(level=1), numcodecs.BZ2(level=1),
          numcodecs.LZMA(), numcodecs.Zstd(level=1), numcodecs.Blosc(), numcodecs.LZ4()]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.codec_id)
def test_legitimate_chunks_decode_exactly(codec):
    raw = codec.encode(PAYLOAD)
    assert decompress(codec, raw, len(PAYLOAD)) == PAYLOAD
    with pytest.raises(DecodedSizeError, match="limit of 1048575 bytes"):
        decompress(codec, raw, len(PAYLOAD) - 1)


def test_streams_whose_size_the_header_does_not_state():
    data = PAYLOAD[:100_000]
    frame = _zstd_without_size(data)
    assert decompress(numcodecs.Zstd(), frame, 10**6) == data
    assert decompress(numcodecs.Zstd(), frame, len(data)) == data
    with pytest.raises(DecodedSizeError):
        decompress(numcodecs.Zstd(), frame, len(data) - 1)
    members = gzip.compress(data) * 3  # multi-member gzip: every member counts
    assert decompress(numcodecs.GZip(), members, 3 * len(data)) == data * 3
    with pytest.raises(DecodedSizeError):
        decompress(numcodecs.GZip(), members, 2 * len(data))
    streams = bz2.compress(data) + bz2.compress(data)
    assert decompress(numcodecs.BZ2(), streams, 2 * len(data)) == data * 2
    xz = lzma.compress(data) * 2
    with pytest.raises(DecodedSizeError):
        decompress(numcodecs.LZMA(), xz, len(data))


def test_bombs_stop_early():
    bomb = zlib.compress(b"\0" * 2**28, 9)  # 256 MiB from 260 kB
    with pytest.raises(DecodedSizeError):
        decompress(numcodecs.Zlib(), bomb, 2**20)
    blosc = bytearray(numcodecs.Blosc().encode(b"\0" * 1000))
    blosc[4:8] = (2**31).to_bytes(4, "little")
    with pytest.raises(DecodedSizeError, match="announces 2147483648"):
        decompress(numcodecs.Blosc(), bytes(blosc), 10**6)


@pytest.mark.parametrize("zarr_format,compressor", [
    (2, numcodecs.Zstd(level=1)), (2, numcodecs.GZip(level=1)), (3, zarr.codecs.ZstdCodec()),
    (3, zarr.codecs.GzipCodec()), (3, zarr.codecs.BloscCodec())])
def test_zarr_reads_through_the_bound(zarr_format, compressor):
    store = zarr.storage.MemoryStore()
    arr = zarr.create_array(store, name="a", shape=(1000,), chunks=(100,), dtype="f8",
                            zarr_format=zarr_format, compressors=compressor)
    arr[:] = np.arange(1000.0)
    np.testing.assert_array_equal(zarr.open_array(store, path="a")[:], np.arange(1000.0))
    # a chunk that inflates to 100 times its 800 bytes
    codec = numcodecs.GZip(1) if "zip" in type(compressor).__name__.lower() else \
        numcodecs.Blosc() if "Blosc" in type(compressor).__name__ else numcodecs.Zstd(1)
    key = "a/0" if zarr_format == 2 else "a/c/0"
    from hdmf_zarr.zarr_bridge.store_io import set_bytes

    set_bytes(store, key, bytes(codec.encode(b"\0" * 80_000 * 2)))
    with pytest.raises(DecodedSizeError):
        zarr.open_array(store, path="a")[:100]
