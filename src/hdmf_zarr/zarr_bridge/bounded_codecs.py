"""The decompression bound of :mod:`.bounded_decode` inside Zarr's codec pipeline, through
Zarr's supported extension point rather than by patching Zarr or numcodecs classes.

Zarr builds the codec pipeline of every array with the pipeline class that ``zarr.config``
names under ``codec_pipeline.path`` (``zarr.registry.get_pipeline_class``), including the inner
pipelines of sharded arrays. :func:`install` registers :class:`BoundedCodecPipeline` with
``zarr.registry.register_pipeline`` and selects it in ``zarr.config``, unless the configuration
already names a pipeline other than Zarr's default, which is then left as chosen (and these
bounds do not apply). The pipeline is Zarr's ``BatchedCodecPipeline`` whose
:meth:`~BoundedCodecPipeline.from_codecs` replaces

- the ``V2Codec`` Zarr wraps around the numcodecs filters and compressor of every Zarr format 2
  array by :class:`BoundedV2Codec`, which decompresses with the bound before the filters run
  (its restricted pickle filter handed over as :class:`RestrictedPickleFilter`);
- Zarr's own ``zstd``, ``gzip`` and ``blosc`` codecs and its ``numcodecs.*`` bytes-to-bytes
  wrappers (``zarr.codecs.numcodecs``) by subclasses of the same name and configuration that
  decode with the bound.

A process that selects another pipeline (Zarr 3.4's ``FusedCodecPipeline``, say) or resets
``zarr.config`` after importing this package reads without these bounds; calling
:func:`install` again selects the bounded pipeline once the configuration names Zarr's default.
The array's metadata keeps Zarr's own codec objects (``array.compressors`` and equality with
``zarr.codecs.ZstdCodec(...)`` are unchanged); only the pipeline's copies differ.

Why not codec classes selected through ``zarr.config`` ``codecs.<id>``: that route reaches the
codecs Zarr parses from Zarr format 3 metadata only. It changes the class of those codecs as the
user sees them (their equality with Zarr's own classes fails), it misses codec objects created
in the process (the arrays this package writes and reads back, the inner codecs of a
``ShardingCodec``), and Zarr format 2 arrays never look codecs up there: their numcodecs
compressor is wrapped in ``V2Codec`` by ``zarr.core.array.create_codec_pipeline``, so the
pipeline is the only supported place to bound them.

Zarr internals relied on (each checked by ``tests/zarr_bridge/test_bounded_codecs.py``):
``zarr.codecs._v2.V2Codec`` (fields ``filters``, ``compressor``; ``_decode_single``, and
``_decode_sync`` on Zarr >= 3.2), ``zarr.core.codec_pipeline.BatchedCodecPipeline.from_codecs``,
and the cached numcodecs object of each codec (``_zstd_codec``, ``_gzip_codec``,
``_blosc_codec``, ``_codec``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from typing import Any, cast

import zarr
import zarr.codecs.numcodecs as _wrappers
from zarr.abc.codec import BytesBytesCodec, Codec
from zarr.codecs import BloscCodec as _ZarrBlosc
from zarr.codecs import GzipCodec as _ZarrGzip
from zarr.codecs import ZstdCodec as _ZarrZstd
from zarr.codecs._v2 import V2Codec as _ZarrV2Codec
from zarr.core.codec_pipeline import BatchedCodecPipeline
from zarr.registry import register_pipeline

from .bounded_decode import decompress, spec_limit

__all__ = ["BoundedCodecPipeline", "BoundedV2Codec", "RestrictedPickleFilter", "bounded_codec",
           "install", "PIPELINE_PATH"]

#: the ``codec_pipeline.path`` Zarr uses by default, and the one :func:`install` selects
ZARR_DEFAULT_PIPELINE = "zarr.core.codec_pipeline.BatchedCodecPipeline"
PIPELINE_PATH = f"{__name__}.BoundedCodecPipeline"

#: Zarr >= 3.2 decodes through a synchronous ``_decode_sync`` its ``_decode_single`` calls
_SYNC_DECODE = hasattr(_ZarrV2Codec, "_decode_sync")


class _BoundedBytesBytes:
    """Decode of a bytes-to-bytes codec bounded by the chunk's size (a base placed before the
    Zarr codec class it bounds)."""

    def _bounded_numcodec(self) -> Any:
        """The numcodecs object the Zarr codec decodes with."""
        raise NotImplementedError

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        data = decompress(self._bounded_numcodec(), chunk_bytes.as_array_like(),
                          spec_limit(chunk_spec))
        return chunk_spec.prototype.buffer.from_bytes(data)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)


class ZstdCodec(_BoundedBytesBytes, _ZarrZstd):
    """Zarr's ``zstd`` codec, decoding with the bound."""

    def _bounded_numcodec(self) -> Any:
        return self._zstd_codec


class GzipCodec(_BoundedBytesBytes, _ZarrGzip):
    """Zarr's ``gzip`` codec, decoding with the bound."""

    def _bounded_numcodec(self) -> Any:
        return self._gzip_codec


class BloscCodec(_BoundedBytesBytes, _ZarrBlosc):
    """Zarr's ``blosc`` codec, decoding with the bound."""

    def _bounded_numcodec(self) -> Any:
        return self._blosc_codec


class _BoundedWrapper(_BoundedBytesBytes):
    def _bounded_numcodec(self) -> Any:
        return self._codec  # type: ignore[attr-defined]


#: Zarr's codec class -> the subclass of the same name that decodes with the bound
_BOUNDED: dict[type, type] = {_ZarrZstd: ZstdCodec, _ZarrGzip: GzipCodec, _ZarrBlosc: BloscCodec}

for _name in dir(_wrappers):
    _cls = getattr(_wrappers, _name)
    _codec_name = str(getattr(_cls, "codec_name", ""))
    if isinstance(_cls, type) and issubclass(_cls, BytesBytesCodec) and \
            _codec_name.startswith("numcodecs."):
        # the numcodecs.* bytes-to-bytes wrappers (Blosc, Zstd, Zlib, GZip, BZ2, LZMA, LZ4,
        # Shuffle and the checksums): a subclass of the same name, importable from here
        _sub = type(_name, (_BoundedWrapper, _cls),
                    {"__module__": __name__, "__qualname__": f"numcodecs_{_name}",
                     "__doc__": f"Zarr's ``{_codec_name}`` codec, decoding with the bound."})
        globals()[f"numcodecs_{_name}"] = _sub
        _BOUNDED[_cls] = _sub


class BoundedV2Codec(_ZarrV2Codec):
    """Zarr's ``V2Codec`` (numcodecs filters and compressor of a Zarr format 2 array) whose
    compressor decompresses with the bound; the filters then run as in Zarr."""

    def _decompress(self, chunk_bytes: Any, chunk_spec: Any) -> tuple[Any, BoundedV2Codec]:
        data = decompress(self.compressor, chunk_bytes.as_array_like(), spec_limit(chunk_spec))
        return (chunk_spec.prototype.buffer.from_bytes(data),
                dataclasses.replace(self, compressor=None))

    if _SYNC_DECODE:
        def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
            if self.compressor is None:
                return super()._decode_sync(chunk_bytes, chunk_spec)  # type: ignore[misc]
            plain_bytes, plain = self._decompress(chunk_bytes, chunk_spec)
            return plain._decode_sync(plain_bytes, chunk_spec)

    else:
        async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
            if self.compressor is None:
                return await super()._decode_single(chunk_bytes, chunk_spec)
            plain_bytes, plain = await asyncio.to_thread(self._decompress, chunk_bytes,
                                                         chunk_spec)
            return await plain._decode_single(plain_bytes, chunk_spec)


class RestrictedPickleFilter:
    """The :class:`~.legacy_codecs.RestrictedPickle` filter of a Zarr format 2 array as
    :class:`BoundedV2Codec` hands it to Zarr: the same decoder under the id
    ``hdmf_zarr.restricted_pickle``.

    Zarr >= 3.4 refuses to decode with any filter whose id is ``pickle`` unless
    ``array.allow_unsafe_pickle_decode`` is set, because numcodecs' pickle codec runs the general
    unpickler. The restricted decoder never does (FORMAT.md 2.5, 5), so plain Zarr keeps reading
    the pickled L2 arrays of hdmf-zarr 0.13 with it, as on Zarr 3.1; numcodecs' own ``Pickle``
    (any other class) is passed on unchanged and Zarr's refusal applies to it.
    """

    codec_id = "hdmf_zarr.restricted_pickle"

    def __init__(self, codec: Any) -> None:
        self.codec = codec

    def decode(self, buf: Any, out: Any = None) -> Any:
        """The restricted decoding of ``buf`` (see :class:`~.legacy_codecs.RestrictedPickle`)."""
        return self.codec.decode(buf, out=out)

    def encode(self, buf: Any) -> Any:
        """numcodecs' pickle encoding of ``buf``."""
        return self.codec.encode(buf)

    def get_config(self) -> dict:
        """The configuration of the pickle codec (its id stays ``pickle``)."""
        return self.codec.get_config()


def _safe_filters(filters: Any) -> Any:
    if not filters:
        return filters
    from .legacy_codecs import RestrictedPickle

    return tuple(RestrictedPickleFilter(f) if isinstance(f, RestrictedPickle) else f
                 for f in filters)


def bounded_codec(codec: Codec) -> Codec:
    """The codec the pipeline decodes with in place of ``codec``: the bounded subclass of a Zarr
    codec listed above (same configuration), else ``codec`` itself. A ``V2Codec`` also gets its
    restricted pickle filter as :class:`RestrictedPickleFilter`.

    Relies on Zarr's codecs being dataclasses (frozen) whose whole state is their ``__dict__``.
    """
    kind = type(codec)
    if kind is _ZarrV2Codec:
        v2 = cast(_ZarrV2Codec, codec)
        return BoundedV2Codec(filters=_safe_filters(v2.filters), compressor=v2.compressor)
    sub = _BOUNDED.get(kind)
    if sub is None:
        return codec
    # the same state under the subclass, without running __init__ again (the numcodecs.*
    # wrappers warn on every construction that they are not in the Zarr 3 specification)
    copy: Codec = object.__new__(sub)
    copy.__dict__.update(vars(codec))
    return copy


class BoundedCodecPipeline(BatchedCodecPipeline):
    """Zarr's ``BatchedCodecPipeline`` decoding with the bounded codecs of this module."""

    @classmethod
    def from_codecs(cls, codecs: Iterable[Codec], *, batch_size: int | None = None
                    ) -> BoundedCodecPipeline:
        """The pipeline of ``codecs``, each replaced by :func:`bounded_codec`."""
        return super().from_codecs([bounded_codec(c) for c in codecs], batch_size=batch_size)


def install() -> bool:
    """Register :class:`BoundedCodecPipeline` and select it in ``zarr.config`` when the
    configuration names Zarr's default pipeline (idempotent).

    Returns
    -------
    bool
        True when the bounded pipeline is the configured one afterwards.
    """
    register_pipeline(BoundedCodecPipeline)
    current = zarr.config.get("codec_pipeline.path")
    if current == ZARR_DEFAULT_PIPELINE:
        zarr.config.set({"codec_pipeline.path": PIPELINE_PATH})
        current = PIPELINE_PATH
    return current == PIPELINE_PATH
