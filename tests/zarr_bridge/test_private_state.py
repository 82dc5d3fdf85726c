"""The private Zarr state zarr_bridge.private_state reads: BloscCodec's automatic shuffle and
the store inside a WrapperStore."""

from __future__ import annotations

from zarr.codecs import BloscCodec
from zarr.storage import MemoryStore, WrapperStore

from hdmf_zarr.zarr_bridge.private_state import blosc_shuffle_is_automatic, wrapped_store


def test_blosc_without_shuffle_leaves_it_to_zarr():
    assert blosc_shuffle_is_automatic(BloscCodec())
    assert blosc_shuffle_is_automatic(BloscCodec(cname="zstd", clevel=3))


def test_blosc_with_a_shuffle_keeps_it():
    for shuffle in ("noshuffle", "shuffle", "bitshuffle"):
        assert not blosc_shuffle_is_automatic(BloscCodec(shuffle=shuffle))


def test_wrapped_store_of_a_wrapper_and_of_a_plain_store():
    inner = MemoryStore()
    assert wrapped_store(WrapperStore(inner)) is inner
    assert wrapped_store(inner) is None
    assert wrapped_store(inner.with_read_only(True)) is None  # a copy, not a wrapper
