"""The private Zarr state zarr_bridge.private_state reads: BloscCodec's automatic shuffle."""

from __future__ import annotations

from zarr.codecs import BloscCodec

from hdmf_zarr.zarr_bridge.private_state import blosc_shuffle_is_automatic


def test_blosc_without_shuffle_leaves_it_to_zarr():
    assert blosc_shuffle_is_automatic(BloscCodec())
    assert blosc_shuffle_is_automatic(BloscCodec(cname="zstd", clevel=3))


def test_blosc_with_a_shuffle_keeps_it():
    for shuffle in ("noshuffle", "shuffle", "bitshuffle"):
        assert not blosc_shuffle_is_automatic(BloscCodec(shuffle=shuffle))

