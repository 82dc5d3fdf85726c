"""The storage options of ``hdmf-zarr convert`` (``--zarr-format``, ``--chunks``, ``--shards``,
``--compressor``, ``--jobs``, ``--progress``) turned into the ``write_args`` of the export
(``write.options.WriteOptions``; docs/large-data.md).

Every value is checked here, before anything is written; errors are ``click.UsageError``.
"""

from __future__ import annotations

from typing import Any

import click

from .format.select import layout_for

__all__ = ["zarr_write_args", "parse_shape", "parse_compressor"]


def zarr_write_args(dst_kind: str, fmt: int, chunks: str | None, shards: str | None,
                    compressor: str | None, jobs: int, progress: bool) -> dict:
    """``write_args`` of a Zarr destination from the convert options (UsageError on bad
    values or options that do not apply)."""
    if dst_kind == "hdf5":
        given = [name for name, value in (("--chunks", chunks), ("--shards", shards),
                                          ("--compressor", compressor)) if value is not None]
        if jobs != 1:
            given.append("--jobs")
        if given:
            raise click.UsageError(f"{', '.join(given)} apply to a Zarr destination only")
        return {}
    if shards is not None and not layout_for(fmt).supports_sharding and \
            shards.lower() != "none":
        raise click.UsageError("--shards needs layout L3 (--zarr-format 3)")
    large: dict[str, Any] = {}
    if chunks is not None:
        large["chunks"] = parse_shape(chunks, "--chunks")
    if shards is not None:
        low = shards.lower()
        large["shards"] = True if low == "auto" else False if low == "none" else \
            parse_shape(shards, "--shards")
    if compressor is not None:
        large["compressor"] = parse_compressor(compressor)
    out: dict[str, Any] = {"number_of_jobs": jobs, "progress": progress}
    if large:
        out["large_dataset_settings"] = large
    return out


def parse_shape(text: str, option: str) -> tuple[int, ...]:
    """A shape given as ``N,N,...`` (``--chunks``, ``--shards``).

    Raises
    ------
    click.UsageError
        Not a list of positive integers.
    """
    try:
        shape = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise click.UsageError(
            f"{option}: {text!r} is not a comma-separated list of integers") from None
    if not shape or any(v <= 0 for v in shape):
        raise click.UsageError(f"{option}: {text!r} must list positive integers")
    return shape


#: Compression levels each codec accepts (zstd's negative levels trade ratio for speed).
_LEVELS = {"zstd": (-131072, 22), "blosc": (0, 9), "gzip": (0, 9), "zlib": (0, 9)}
_BLOSC_CNAMES = ("blosclz", "lz4", "lz4hc", "zlib", "zstd")
_BLOSC_SHUFFLES = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
_COMPRESSOR_FORMS = ("zstd[:LEVEL], blosc[:CNAME[:LEVEL[:noshuffle|shuffle|bitshuffle]]], "
                     "gzip[:LEVEL], zlib[:LEVEL], lz4, none")


def parse_compressor(text: str) -> Any:
    """A numcodecs codec (translated for layout L3 by ``write.codecs``) or False.

    Every name and level is checked here, before anything is written: numcodecs accepts
    ``Zstd(level=99)`` and fails only when a large chunk is compressed, and Blosc reports a
    bad level from C.

    Raises
    ------
    click.UsageError
        Naming the part of ``text`` that is wrong and what is accepted.
    """
    import numcodecs

    def bad(reason: str):
        return click.UsageError(f"--compressor: {text!r}: {reason}")

    def level(name: str, value: str) -> int:
        low, high = _LEVELS[name]
        try:
            number = int(value)
        except ValueError:
            raise bad(f"level {value!r} is not an integer") from None
        if not low <= number <= high:
            raise bad(f"{name} level {number} is outside {low}..{high}")
        return number

    name, *args = text.strip().lower().split(":")
    if name == "none" and not args:
        return False
    if name == "lz4" and not args:
        return numcodecs.LZ4()
    if name == "zstd" and len(args) <= 1:
        return numcodecs.Zstd(level=level("zstd", args[0]) if args else 5)
    if name in ("gzip", "zlib") and len(args) <= 1:
        cls = numcodecs.GZip if name == "gzip" else numcodecs.Zlib
        return cls(level=level(name, args[0]) if args else 5)
    if name == "blosc" and len(args) <= 3:
        cname = args[0] if args else "zstd"
        if cname not in _BLOSC_CNAMES:
            raise bad(f"blosc compressor {cname!r} is not one of {', '.join(_BLOSC_CNAMES)}")
        clevel = level("blosc", args[1]) if len(args) > 1 else 5
        if len(args) > 2 and args[2] not in _BLOSC_SHUFFLES:
            raise bad(f"shuffle {args[2]!r} is not one of {', '.join(_BLOSC_SHUFFLES)}")
        shuffle = _BLOSC_SHUFFLES[args[2]] if len(args) > 2 else 1
        return numcodecs.Blosc(cname=cname, clevel=clevel, shuffle=shuffle)
    raise click.UsageError(f"--compressor: {text!r} is not one of {_COMPRESSOR_FORMS}")
