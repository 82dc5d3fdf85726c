"""Codec arguments that zarr 2 / hdmf-zarr 0.13 accepted (issue 12, writes 2 and 5).

* ``compressor=True`` is the established spelling of "the default compressor", ``False`` of
  "no compression" (also for text datasets, which take another path in L2);
* a codec zarr 2 took as ``compressor`` although it is not bytes-to-bytes (``numcodecs.PackBits``
  is array-to-array in Zarr 3) is moved into the filters with one warning instead of refused.

Every case writes an NWB file, checks the stored codecs and compares every value read back.
"""

import warnings

import numcodecs
import numpy as np
import pytest
import zarr.codecs.numcodecs as nz3
from _large import LAYOUT, array_doc, check_roundtrip, nwbfile_with, read_values, write_nwb
from zarr.codecs import TransposeCodec

from hdmf_zarr.utils import ZarrDataIO
from hdmf_zarr.write.codecs import DEFAULT_COMPRESSOR_V2

NODE = "acquisition/ts/data"
DATA = (np.arange(300 * 4, dtype="<i2").reshape(300, 4) % 97) * 3
BYTES_CODEC = {"name": "bytes", "configuration": {"endian": "little"}}


def _write(tmp_path, layout, data=DATA, **dataio_kwargs):
    nwbfile = nwbfile_with(ZarrDataIO(data, **dataio_kwargs))
    path = write_nwb(tmp_path / f"r{layout}.nwb.zarr", nwbfile, layout)
    check_roundtrip(path, nwbfile)
    np.testing.assert_array_equal(read_values(path), data)
    return path


@LAYOUT
@pytest.mark.parametrize("key", ["compressor", "compressors"])
def test_true_is_the_default_compressor(tmp_path, layout, key):
    path = _write(tmp_path, layout, **{key: True})
    doc = array_doc(path, NODE)
    if layout == 2:
        assert doc["compressor"] == DEFAULT_COMPRESSOR_V2
        assert doc["filters"] is None
    else:  # Zarr's default: zstd level 0
        assert doc["codecs"] == [BYTES_CODEC,
                                 {"name": "zstd", "configuration": {"level": 0,
                                                                    "checksum": False}}]


@LAYOUT
def test_true_with_filters_keeps_them(tmp_path, layout):
    path = _write(tmp_path, layout, compressor=True, filters=[numcodecs.Delta(dtype="<i2")])
    doc = array_doc(path, NODE)
    if layout == 2:
        assert doc["compressor"] == DEFAULT_COMPRESSOR_V2
        assert doc["filters"] == [{"id": "delta", "dtype": "<i2", "astype": "<i2"}]
    else:
        assert [c["name"] for c in doc["codecs"]] == ["numcodecs.delta", "bytes", "zstd"]


@LAYOUT
@pytest.mark.parametrize("compressor", [True, False])
def test_true_and_false_on_text(tmp_path, layout, compressor):
    """A text column (in L2 an object array written by our own encoder)."""
    from hdmf.common import DynamicTable, VectorData, get_manager

    from hdmf_zarr.backend import ZarrIO

    words = [f"word {i} é" for i in range(200)]
    table = DynamicTable(name="t", description="text", id=list(range(200)), columns=[
        VectorData(name="s", description="words",
                   data=ZarrDataIO(words, chunks=(50,), compressor=compressor))])
    path = tmp_path / "t.zarr"
    with ZarrIO(str(path), mode="w", zarr_format=layout, manager=get_manager()) as io:
        io.write(table)
    with ZarrIO(str(path), mode="r", manager=get_manager()) as io:
        assert [str(v) for v in io.read()["s"].data[()]] == words
    doc = array_doc(path, "s")
    if layout == 2:
        assert doc["compressor"] == (DEFAULT_COMPRESSOR_V2 if compressor else None)
    else:
        names = [c["name"] for c in doc["codecs"]]
        assert names == (["vlen-utf8", "zstd"] if compressor else ["vlen-utf8"])


BOOLS = (np.arange(1000) % 3 == 0).reshape(250, 4)


def test_packbits_compressor_l3_moves_into_filters(tmp_path):
    with pytest.warns(UserWarning, match="PackBits is not a bytes-to-bytes codec.*last filter"):
        path = _write(tmp_path, 3, data=BOOLS, compressor=numcodecs.PackBits())
    doc = array_doc(path, NODE)
    # moved: a filter before the serializer, and no compressor after it (one was asked for,
    # and it became the filter)
    assert [c["name"] for c in doc["codecs"]] == ["numcodecs.packbits", "bytes"]


def test_packbits_compressor_l3_after_other_filters(tmp_path):
    with pytest.warns(UserWarning, match="PackBits"):
        path = _write(tmp_path, 3, data=BOOLS, compressor=numcodecs.PackBits(),
                      filters=[TransposeCodec(order=(1, 0))])
    assert [c["name"] for c in array_doc(path, NODE)["codecs"]] == \
        ["transpose", "numcodecs.packbits", "bytes"]


def test_packbits_compressor_l2_is_what_zarr2_stored(tmp_path):
    """In L2 zarr 2 stored it as the compressor: kept there, nothing to warn about."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        path = _write(tmp_path, 2, data=BOOLS, compressor=numcodecs.PackBits())
    doc = array_doc(path, NODE)
    assert doc["compressor"] == {"id": "packbits"}
    assert doc["filters"] is None


def test_zarr3_array_codec_as_compressor_l2_moves_into_filters(tmp_path):
    with pytest.warns(UserWarning, match="PackBits is not a bytes-to-bytes codec"):
        path = _write(tmp_path, 2, data=BOOLS, compressor=nz3.PackBits())
    doc = array_doc(path, NODE)
    assert doc["filters"] == [{"id": "packbits"}]
    assert doc["compressor"] is None


def test_moved_codec_warns_once(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _write(tmp_path, 3, data=BOOLS, compressor=numcodecs.PackBits())
    moved = [w for w in caught if "PackBits is not a bytes-to-bytes" in str(w.message)]
    assert len(moved) == 1, [str(w.message) for w in moved]
    assert "/acquisition/ts/data" in str(moved[0].message)
