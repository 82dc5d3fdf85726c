"""The storage options of ``hdmf-zarr convert`` (convert_options.py): parsed and checked before
anything is written; shards only where the layout supports them (FORMAT.md 3.8)."""

from __future__ import annotations

import click
import numcodecs
import pytest

from hdmf_zarr.convert_options import parse_compressor, parse_shape, zarr_write_args


def test_shards_need_a_layout_that_shards():
    with pytest.raises(click.UsageError, match="--shards needs layout L3"):
        zarr_write_args("zarr", 2, None, "64,64", None, 1, False)
    # "none" is accepted in L2: it asks for nothing
    out = zarr_write_args("zarr", 2, None, "none", None, 1, False)
    assert out["large_dataset_settings"] == {"shards": False}
    out = zarr_write_args("zarr", 3, "10,4", "auto", "zstd:3", 2, True)
    assert out["number_of_jobs"] == 2 and out["progress"] is True
    large = out["large_dataset_settings"]
    assert large["chunks"] == (10, 4) and large["shards"] is True
    assert large["compressor"] == numcodecs.Zstd(level=3)


def test_hdf5_destination_refuses_zarr_options():
    assert zarr_write_args("hdf5", 3, None, None, None, 1, True) == {}
    with pytest.raises(click.UsageError, match="--chunks, --jobs apply to a Zarr"):
        zarr_write_args("hdf5", 3, "5", None, None, 2, True)


def test_parse_shape():
    assert parse_shape("30000, 64", "--chunks") == (30000, 64)
    for bad in ("a,b", "0,4", ""):
        with pytest.raises(click.UsageError, match="--chunks"):
            parse_shape(bad, "--chunks")


def test_parse_compressor():
    assert parse_compressor("none") is False
    assert parse_compressor("lz4") == numcodecs.LZ4()
    assert parse_compressor("blosc:lz4:7:bitshuffle") == numcodecs.Blosc(
        cname="lz4", clevel=7, shuffle=2)
    with pytest.raises(click.UsageError, match="zstd level 99 is outside"):
        parse_compressor("zstd:99")
    with pytest.raises(click.UsageError, match="is not one of"):
        parse_compressor("brotli")
