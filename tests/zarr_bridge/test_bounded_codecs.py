"""Tests of zarr_bridge.bounded_codecs: the decompression bound reaches Zarr through the codec
pipeline selected in zarr.config, Zarr's classes stay as Zarr ships them, and the Zarr internals
the module relies on are still there."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.codecs.numcodecs as wrappers
from zarr.codecs import BloscCodec, GzipCodec, ShardingCodec, ZstdCodec
from zarr.codecs._v2 import V2Codec
from zarr.core.codec_pipeline import BatchedCodecPipeline

import hdmf_zarr  # noqa: F401 - selects the bounded pipeline
from hdmf_zarr.zarr_bridge import bounded_codecs
from hdmf_zarr.zarr_bridge.bounded_codecs import (
    PIPELINE_PATH,
    BoundedCodecPipeline,
    BoundedV2Codec,
    bounded_codec,
    install,
)
from hdmf_zarr.zarr_bridge.bounded_decode import DecodedSizeError
from hdmf_zarr.zarr_bridge.store_io import get_bytes, set_bytes


def test_zarr_classes_are_not_patched():
    for cls in (V2Codec, ZstdCodec, GzipCodec, BloscCodec, wrappers.Zstd, wrappers.LZMA):
        for name in ("_decode_single", "_decode_sync"):
            method = getattr(cls, name, None)
            if method is not None:
                assert method.__module__.startswith("zarr."), (cls, name)
                assert not hasattr(method, "__wrapped__")


def test_the_bounded_pipeline_is_selected_and_built_for_arrays():
    assert zarr.config.get("codec_pipeline.path") == PIPELINE_PATH
    assert zarr.registry.get_pipeline_class() is BoundedCodecPipeline
    arr = zarr.create_array(zarr.storage.MemoryStore(), shape=(10,), dtype="f8",
                            zarr_format=2, compressors=numcodecs.Zstd(level=1))
    assert isinstance(arr._async_array.codec_pipeline.array_bytes_codec, BoundedV2Codec)


def test_install_leaves_a_pipeline_the_user_chose():
    with zarr.config.set({"codec_pipeline.path": "somewhere.TheirPipeline"}):
        assert install() is False
        assert zarr.config.get("codec_pipeline.path") == "somewhere.TheirPipeline"
    assert install() is True
    assert zarr.config.get("codec_pipeline.path") == PIPELINE_PATH


@pytest.mark.parametrize("codec", [
    ZstdCodec(level=3, checksum=True), GzipCodec(level=2),
    BloscCodec(typesize=8, cname="zstd", clevel=4, shuffle="bitshuffle"),
    wrappers.Zstd(level=2), wrappers.Zlib(level=3), wrappers.BZ2(level=1), wrappers.LZMA(),
    wrappers.LZ4(), wrappers.Shuffle(elementsize=8), wrappers.Blosc(), wrappers.GZip(level=1)],
    ids=lambda c: type(c).__name__)
def test_bounded_codecs_keep_name_configuration_and_pickle(codec):
    bounded = bounded_codec(codec)
    assert type(bounded) is not type(codec) and isinstance(bounded, type(codec))
    assert type(bounded).__name__ == type(codec).__name__
    assert bounded.to_dict() == codec.to_dict()
    assert pickle.loads(pickle.dumps(bounded)).to_dict() == codec.to_dict()
    # what the pipeline decodes with is the numcodecs object zarr uses (an assumption)
    assert isinstance(bounded._bounded_numcodec(), numcodecs.abc.Codec)


def test_codecs_without_a_bound_and_metadata_are_unchanged():
    for codec in (zarr.codecs.BytesCodec(), zarr.codecs.Crc32cCodec(),
                  wrappers.Delta(dtype="<f8")):
        assert bounded_codec(codec) is codec
    store = zarr.storage.MemoryStore()
    zarr.create_array(store, name="a", shape=(10,), dtype="f8", compressors=ZstdCodec(level=1))
    assert zarr.open_array(store, path="a").compressors == (ZstdCodec(level=1),)


def test_v2_codec_fields_the_bounded_copy_relies_on():
    names = {f.name for f in dataclasses.fields(V2Codec)}
    assert {"filters", "compressor"} <= names
    v2 = V2Codec(filters=(numcodecs.Delta("<f8"),), compressor=numcodecs.Zlib(1))
    bounded = bounded_codec(v2)
    assert type(bounded) is BoundedV2Codec
    assert (bounded.filters, bounded.compressor) == (v2.filters, v2.compressor)
    assert inspect.ismethod(BatchedCodecPipeline.from_codecs)  # a classmethod


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_filters_still_run_after_the_bounded_decompression(zarr_format):
    store = zarr.storage.MemoryStore()
    filters = [numcodecs.Delta("<i8")] if zarr_format == 2 else [wrappers.Delta(dtype="<i8")]
    compressors = numcodecs.Zlib(1) if zarr_format == 2 else wrappers.Zlib(level=1)
    arr = zarr.create_array(store, name="a", shape=(1000,), chunks=(100,), dtype="i8",
                            zarr_format=zarr_format, filters=filters, compressors=compressors)
    arr[:] = np.arange(1000) * 3
    np.testing.assert_array_equal(zarr.open_array(store, path="a")[:], np.arange(1000) * 3)


def test_inner_chunks_of_a_shard_are_bounded():
    store = zarr.storage.MemoryStore()
    codecs = {"compressors": ZstdCodec(level=1), "zarr_format": 3}
    big = zarr.create_array(store, name="big", shape=(20000,), chunks=(20000,),
                            shards=(20000,), dtype="f8", **codecs)
    big[:] = 0.5
    small = zarr.create_array(store, name="small", shape=(100,), chunks=(100,),
                              shards=(100,), dtype="f8", **codecs)
    small[:] = 1.0
    assert isinstance(small._async_array.codec_pipeline.array_bytes_codec, ShardingCodec)
    # one inner chunk per shard in both: the big shard read as the small one inflates 200 times
    set_bytes(store, "small/c/0", get_bytes(store, "big/c/0"))
    with pytest.raises(DecodedSizeError):
        zarr.open_array(store, path="small")[:]


def test_the_wrappers_found_are_the_bytes_to_bytes_ones():
    found = {cls.codec_name for cls in bounded_codecs._BOUNDED if hasattr(cls, "codec_name")}
    assert {"numcodecs.zstd", "numcodecs.zlib", "numcodecs.gzip", "numcodecs.bz2",
            "numcodecs.lzma", "numcodecs.blosc", "numcodecs.lz4"} <= found
    assert "numcodecs.delta" not in found


def test_bounding_a_wrapper_warns_nothing():
    import warnings

    codec = wrappers.Zstd(level=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bounded_codec(codec)
    assert caught == []


def test_the_restricted_pickle_filter_is_handed_to_zarr_under_its_own_id():
    from numcodecs.pickles import Pickle

    from hdmf_zarr.zarr_bridge.bounded_codecs import RestrictedPickleFilter
    from hdmf_zarr.zarr_bridge.legacy_codecs import RestrictedPickle

    ours = numcodecs.get_codec({"id": "pickle"})
    assert isinstance(ours, RestrictedPickle)  # what Zarr resolves an L2 pickle filter to
    bounded = bounded_codec(V2Codec(filters=(ours,), compressor=None))
    (wrapped,) = bounded.filters
    assert isinstance(wrapped, RestrictedPickleFilter) and wrapped.codec_id != "pickle"
    chunk = np.array([1, "a", None], dtype=object)
    assert wrapped.decode(ours.encode(chunk)).tolist() == [1, "a", None]
    assert wrapped.get_config() == ours.get_config()
    # numcodecs' general Pickle keeps its id: Zarr's own refusal (>= 3.4) still applies to it
    general = Pickle()
    assert bounded_codec(V2Codec(filters=(general,), compressor=None)).filters == (general,)
