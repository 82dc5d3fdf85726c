"""Codec settings of a dataset for each layout.

``ZarrDataIO`` takes numcodecs codecs (the established API); layout L3 needs Zarr 3 codecs.
numcodecs ships Zarr 3 wrappers (``zarr.codecs.numcodecs``) for its codecs, so a numcodecs codec is
translated to its wrapper; a codec that has no wrapper is an error naming the dataset.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownCodecError

__all__ = ["compressors_for", "filters_for"]


def _is_numcodecs(codec) -> bool:
    from numcodecs.abc import Codec

    return isinstance(codec, Codec)


def _to_zarr3(codec, where: str):
    """A Zarr 3 codec for a numcodecs codec (or the codec itself when it already is one)."""
    if not _is_numcodecs(codec):
        return codec
    import warnings

    import zarr.codecs.numcodecs as nz3

    config = dict(codec.get_config())
    codec_id = config.pop("id")
    for name in dir(nz3):
        cls = getattr(nz3, name)
        if isinstance(cls, type) and getattr(cls, "codec_name", None) == f"numcodecs.{codec_id}":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "not in the Zarr 3 specification": chosen
                return cls(**config)
    raise UnknownCodecError(f"numcodecs codec {codec_id!r} has no Zarr format 3 equivalent",
                            where)


def compressors_for(compressor: Any, zarr_format: int, where: str):
    """The ``compressors`` argument of ``zarr.create_array`` for a user compressor.

    ``None`` keeps the layout default, ``False`` disables compression.
    """
    if compressor is None:
        if zarr_format == 2:
            from numcodecs import Blosc

            return Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE, blocksize=0)
        return "auto"
    if compressor is False:
        return None
    if zarr_format == 2:
        if not _is_numcodecs(compressor):
            raise UnknownCodecError(
                f"compressor {compressor!r} is not a numcodecs codec; layout L2 needs one", where)
        return compressor
    return _to_zarr3(compressor, where)


def filters_for(filters: Any, zarr_format: int, where: str):
    """The ``filters`` argument of ``zarr.create_array`` for user filters."""
    if not filters:
        return None if zarr_format == 2 else "auto"
    if zarr_format == 2:
        for f in filters:
            if not _is_numcodecs(f):
                raise UnknownCodecError(
                    f"filter {f!r} is not a numcodecs codec; layout L2 needs one", where)
        return list(filters)
    return [_to_zarr3(f, where) for f in filters]
