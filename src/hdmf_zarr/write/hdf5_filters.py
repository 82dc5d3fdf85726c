"""Zarr codec settings for an HDF5 dataset being exported (FORMAT.md section 6).

The HDF5 filter pipeline of a dataset is read from its dataset creation property list
(``dset.id.get_create_plist()``), so that plugin filters (Blosc 32001, Zstd 32015 ...) are seen
even when h5py has no decoder for them, and each filter is mapped to a Zarr codec:

=============================  ==================================  ===============================
HDF5 filter                    layout L2 (Zarr format 2)           layout L3 (Zarr format 3)
=============================  ==================================  ===============================
deflate (gzip) level ``L``     compressor ``numcodecs.Zlib(L)``    ``numcodecs.zlib`` wrapper
shuffle                        filter ``numcodecs.Shuffle(n)``     ``numcodecs.shuffle`` wrapper
Blosc plugin 32001             compressor ``numcodecs.Blosc``      ``zarr.codecs.BloscCodec``
Zstd plugin 32015              compressor ``numcodecs.Zstd``       ``zarr.codecs.ZstdCodec``
anything else                  dropped, one ``UserWarning``        same
=============================  ==================================  ===============================

Choices for layout L3, all of them bytes-to-bytes codecs placed after the serializer (so they
are returned in ``compressors``; ``filters``, Zarr 3's array-to-array slot, stays empty):

- deflate -> ``numcodecs.zlib``: HDF5's deflate filter writes a zlib stream (RFC 1950), which is
  what ``numcodecs.zlib`` writes; zarr's built-in ``gzip`` codec writes the gzip container
  (RFC 1952), a different stream, so it is not used.
- shuffle -> ``numcodecs.shuffle`` with the element size fixed from the HDF5 dtype; the byte
  shuffle is the same transform as HDF5's.
- Blosc -> zarr's built-in ``blosc`` codec, which records the element size (``typesize``) of the
  array. The ``numcodecs.blosc`` wrapper sees the chunk as plain bytes (element size 1) in the
  bytes-to-bytes position, which silently turns its byte shuffle into a no-op.
- Zstd -> zarr's built-in ``zstd`` codec: a standard zstd frame, as the HDF5 plugin writes, in
  the Zarr 3 specification and readable by every Zarr 3 implementation.

Deflate and zstd chunks therefore hold the same stream HDF5 holds for the same bytes; a Blosc
chunk is a Blosc 1 frame in both places.

Only one compressor is ever kept: a second compressing filter in the HDF5 pipeline is dropped
with the warning (never compress twice).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from ..format.dtypes import struct_fields
from ..format.layout import Layout
from ..format.select import as_layout

__all__ = ["codecs_from_h5py", "BLOSC_COMPRESSOR_NAMES"]

#: ``cd_values[6]`` of the HDF5 Blosc filter indexes this list.
BLOSC_COMPRESSOR_NAMES = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")

# HDF5 filter identifiers (H5Zpublic.h and the HDF Group's registered plugin list).
_DEFLATE = 1
_SHUFFLE = 2
_BLOSC = 32001
_ZSTD = 32015

_FILTER_NAMES = {
    1: "gzip",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
    32001: "blosc",
    32004: "lz4",
    32008: "bitshuffle",
    32015: "zstd",
    32026: "blosc2",
}

_DEFAULT_ZLIB_LEVEL = 6  # zlib's own default, used if a deflate filter carries no level
_DEFAULT_ZSTD_LEVEL = 3  # the Zstd plugin's default
_BLOSC_DEFAULT_CLEVEL = 5  # defaults of the HDF5 Blosc filter for missing cd_values
_BLOSC_DEFAULT_SHUFFLE = 1
_BLOSC_FALLBACK_CNAME = "lz4"


class _FilterMapping(NamedTuple):
    """What one HDF5 filter becomes.

    ``role`` is ``"filter"`` (a numcodecs filter applied before the compressor), ``"compressor"``,
    ``"skip"`` (a no-op for this data, dropped silently) or ``"drop"`` (no Zarr counterpart).
    ``config`` is the numcodecs configuration (``{"id": "zlib", "level": 4}``) for the first two
    roles. ``note`` is a sentence for the user warning (always set for ``"drop"``, set for a
    kept filter whose settings had to be changed).
    """

    role: str
    config: dict | None = None
    note: str | None = None


def _filter_label(filter_id: int, name: str | None = None) -> str:
    label = name or _FILTER_NAMES.get(filter_id) or "unknown filter"
    return f"{label} (id {filter_id})"


def _as_signed(value: int) -> int:
    """cd_values are unsigned 32-bit integers; negative zstd levels arrive wrapped."""
    value = int(value)
    return value - 2**32 if value >= 2**31 else value


def _map_filter(filter_id: int, cd_values, itemsize: int | None, path: str,
                name: str | None = None) -> _FilterMapping:
    """Map one HDF5 filter to a numcodecs configuration; pure, no warnings.

    Parameters
    ----------
    filter_id : int
        HDF5 filter identifier (1 deflate, 2 shuffle, 32001 Blosc, 32015 Zstd ...).
    cd_values : sequence of int
        The filter's client data values as stored in the dataset creation property list.
    itemsize : int or None
        Size in bytes of one element as Zarr will store it; None for object, variable-length
        and text data, for which a byte shuffle is meaningless and skipped.
    path : str
        Dataset path, used in the notes.
    name : str, optional
        Filter name as HDF5 reports it, used in the notes of unknown filters.

    Returns
    -------
    _FilterMapping
    """
    cd = [int(v) for v in (cd_values or ())]
    label = _filter_label(filter_id, name)
    if filter_id == _DEFLATE:
        level = cd[0] if cd else _DEFAULT_ZLIB_LEVEL
        if not 0 <= level <= 9:
            return _FilterMapping("drop", note=f"{label} with invalid level {level}")
        return _FilterMapping("compressor", {"id": "zlib", "level": level})
    if filter_id == _SHUFFLE:
        if not itemsize:
            return _FilterMapping("skip")
        return _FilterMapping("filter", {"id": "shuffle", "elementsize": int(itemsize)})
    if filter_id == _BLOSC:
        blocksize = cd[3] if len(cd) > 3 else 0
        clevel = cd[4] if len(cd) > 4 else _BLOSC_DEFAULT_CLEVEL
        shuffle = cd[5] if len(cd) > 5 else _BLOSC_DEFAULT_SHUFFLE
        code = cd[6] if len(cd) > 6 else 0
        if code >= len(BLOSC_COMPRESSOR_NAMES):
            return _FilterMapping("drop", note=f"{label} with unknown compressor code {code}")
        if not 0 <= clevel <= 9 or shuffle not in (0, 1, 2):
            return _FilterMapping(
                "drop", note=f"{label} with invalid clevel {clevel} or shuffle {shuffle}")
        cname = BLOSC_COMPRESSOR_NAMES[code]
        note = None
        if cname not in _available_blosc_compressors():
            note = (f"{label}: Blosc compressor {cname!r} is not available in numcodecs, "
                    f"{_BLOSC_FALLBACK_CNAME!r} is used instead")
            cname = _BLOSC_FALLBACK_CNAME
        config = {"id": "blosc", "cname": cname, "clevel": clevel, "shuffle": shuffle,
                  "blocksize": blocksize}
        return _FilterMapping("compressor", config, note)
    if filter_id == _ZSTD:
        level = _as_signed(cd[0]) if cd else _DEFAULT_ZSTD_LEVEL
        return _FilterMapping("compressor", {"id": "zstd", "level": level})
    return _FilterMapping("drop", note=label)


def _available_blosc_compressors() -> tuple[str, ...]:
    try:
        from numcodecs import blosc
    except ImportError:  # pragma: no cover - numcodecs is built with blosc on every platform
        return ()
    return tuple(blosc.list_compressors())


def _shuffle_itemsize(dtype: np.dtype) -> int | None:
    """Element size for a byte shuffle, or None when Zarr will not store fixed-size elements.

    Numeric, bool and compound dtypes of such fields keep their layout; strings (vlen or fixed
    ``S<n>``, which both become variable-length text or bytes), object references and compounds
    holding any of those do not.
    """
    def fixed(dt: np.dtype) -> bool:
        if dt.fields is not None:
            return all(fixed(field) for _, field in struct_fields(dt))
        if dt.subdtype is not None:
            return fixed(dt.subdtype[0])
        return dt.kind in "biufc"

    return int(dtype.itemsize) if fixed(dtype) else None


def _fill_value(dset) -> Any:
    """The HDF5 fill value in a form Zarr accepts (bytes decoded as UTF-8)."""
    dtype = dset.dtype
    try:
        fill = dset.fillvalue
    except Exception:
        return None
    if dtype.fields is not None:
        if _shuffle_itemsize(dtype) is None:
            return None  # text/reference fields: the writer picks the layout's explicit fill
        return np.asarray(fill, dtype=dtype)[()]
    if isinstance(fill, (bytes, np.bytes_)):
        return bytes(fill).decode("utf-8", errors="replace")
    if isinstance(fill, str):
        return fill
    if dtype.kind == "O":
        return None
    if isinstance(fill, np.generic):
        return fill.item()
    return fill


def _zarr3_codec(config: dict, itemsize: int | None):
    """A Zarr 3 codec object for one numcodecs configuration (see the module docstring)."""
    from zarr.codecs import BloscCodec, ZstdCodec

    codec_id = config["id"]
    if codec_id == "blosc":
        shuffle = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}[config["shuffle"]]
        kwargs = {"cname": config["cname"], "clevel": config["clevel"], "shuffle": shuffle,
                  "blocksize": config["blocksize"]}
        if itemsize:
            kwargs["typesize"] = itemsize
        return BloscCodec(**kwargs)
    if codec_id == "zstd":
        return ZstdCodec(level=config["level"])
    wrappers = _numcodecs_wrappers()
    cls = wrappers[codec_id]
    options = {k: v for k, v in config.items() if k != "id"}
    with warnings.catch_warnings():
        # "Numcodecs codecs are not in the Zarr version 3 specification": chosen, see above.
        warnings.simplefilter("ignore")
        return cls(**options)


def _numcodecs_wrappers() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:  # zarr >= 3.1.3 hosts the wrappers
            from zarr.codecs.numcodecs import Shuffle, Zlib
        except ImportError:  # pragma: no cover - older zarr 3.1
            from numcodecs.zarr3 import Shuffle, Zlib  # type: ignore[no-redef]
    return {"zlib": Zlib, "shuffle": Shuffle}


def _read_pipeline(dset) -> list[tuple[int, tuple, str | None]]:
    plist = dset.id.get_create_plist()
    pipeline = []
    for index in range(plist.get_nfilters()):
        filter_id, _flags, cd_values, raw_name = plist.get_filter(index)
        name = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else raw_name
        pipeline.append((int(filter_id), tuple(cd_values), name or None))
    return pipeline


def codecs_from_h5py(dset: Any, zarr_format: Layout | int) -> dict:
    """Zarr codec settings reproducing an HDF5 dataset's storage settings (FORMAT.md 6).

    Parameters
    ----------
    dset : h5py.Dataset
        The source dataset. Only its creation property list, dtype and fill value are read, never
        its data.
    zarr_format : Layout or int
        The layout written, or its Zarr format number (2: L2, 3: L3); the result follows its
        codec convention (``Layout.uses_numcodecs``).

    Returns
    -------
    dict
        For ``zarr_format=2``: ``{"compressor": numcodecs codec or None, "filters": list of
        numcodecs codecs or None, "chunks": tuple or None, "fill_value": value}``.
        For ``zarr_format=3``: ``{"compressors": list of Zarr 3 bytes-to-bytes codecs,
        "filters": [] (no array-to-array codec), "chunks": tuple or None, "fill_value": value}``.
        ``compressor`` None / ``compressors`` empty means the HDF5 dataset is not compressed;
        ``chunks`` None means the HDF5 dataset is contiguous or compact (use Zarr's default
        chunking). ``fill_value`` is a Python scalar, a string (HDF5 byte fills decoded as UTF-8),
        a numpy structured scalar for numeric compounds, or None when the dataset's fill cannot
        be expressed (references, compounds with text fields). The codecs never include the
        object codec of text or reference data: that is the layout's choice.

    Raises
    ------
    ValueError
        When ``zarr_format`` is neither 2 nor 3.

    Warns
    -----
    UserWarning
        Once per dataset when filters are dropped (szip, lzf, scaleoffset, nbit, LZ4 32004,
        bitshuffle 32008, fletcher32, unknown ids, a second compressor) or changed; the message
        names the dataset path and every such filter.
    """
    layout = as_layout(zarr_format)
    path = dset.name or "<anonymous dataset>"
    itemsize = _shuffle_itemsize(dset.dtype)

    filter_configs: list[dict] = []
    compressor_config: dict | None = None
    notes: list[str] = []
    for filter_id, cd_values, name in _read_pipeline(dset):
        mapped = _map_filter(filter_id, cd_values, itemsize, path, name)
        if mapped.role == "drop":
            notes.append(mapped.note or _filter_label(filter_id, name))
            continue
        if mapped.role == "skip":
            continue
        if mapped.note:
            notes.append(mapped.note)
        if mapped.role == "filter" and mapped.config is not None:
            filter_configs.append(mapped.config)
        elif compressor_config is None:
            compressor_config = mapped.config
        else:
            notes.append(f"{_filter_label(filter_id, name)} (a second compressor; "
                         f"{compressor_config['id']} is kept)")
    if notes:
        warnings.warn(
            f"{path}: HDF5 filter settings without a Zarr counterpart are dropped or changed: "
            + "; ".join(notes), UserWarning, stacklevel=2)

    chunks = tuple(int(c) for c in dset.chunks) if dset.chunks is not None else None
    fill_value = _fill_value(dset)
    if layout.uses_numcodecs:
        import numcodecs

        return {
            "compressor": (numcodecs.get_codec(dict(compressor_config))
                           if compressor_config is not None else None),
            "filters": [numcodecs.get_codec(dict(c)) for c in filter_configs] or None,
            "chunks": chunks,
            "fill_value": fill_value,
        }
    configs = filter_configs + ([compressor_config] if compressor_config is not None else [])
    return {
        "compressors": [_zarr3_codec(c, itemsize) for c in configs],
        "filters": [],
        "chunks": chunks,
        "fill_value": fill_value,
    }
