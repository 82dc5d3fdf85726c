"""Stores for URLs (``s3://``, ``https://``...): Zarr's ``FsspecStore`` with the fsspec options
that keep one HTTP request per key read (issue 16, docs/performance.md "Streaming").

One request per key
-------------------
Zarr reads a key with ``fs._cat_file(path)`` (the whole value) or with a byte range. fsspec's
HTTP file system answers both with one ``GET`` (a suffix range is sent as ``bytes=-n``). s3fs,
when its ``max_concurrency`` is above 1 (its default is 10), first asks for the size of every
whole value with a ``HEAD`` request, to split values larger than its block size (50 MiB) into
concurrent range requests: every key read then costs two round trips. Zarr's keys are documents
and chunks, far below that size, so :func:`fsspec_options` sets ``max_concurrency=1`` for S3
unless the caller chose a value: one ``GET`` per key. (The option also makes s3fs upload the
50 MiB parts of a value of 100 MiB or more one at a time, sizes Zarr chunks do not reach in
practice; pass ``storage_options={"max_concurrency": n}`` to choose otherwise.)

Connections
-----------
botocore keeps at most 10 connections to S3 open (``max_pool_connections``), so a wave of a
thousand key reads (``read()`` of a file with many series) waited for a hundred sequential
round trips. :func:`fsspec_options` raises the pool to :data:`S3_CONNECTIONS` (100, the limit
fsspec's HTTP file system has through aiohttp) unless the caller set ``config_kwargs``'
``max_pool_connections``.
"""

from __future__ import annotations

from typing import Any

from zarr.storage import FsspecStore

__all__ = ["S3_PROTOCOLS", "S3_CONNECTIONS", "fsspec_options", "fsspec_store"]

#: URL schemes served by s3fs.
S3_PROTOCOLS = ("s3", "s3a")

#: Connections kept open to S3 by default (botocore's default is 10).
S3_CONNECTIONS = 100


def fsspec_options(url: str, storage_options: dict[str, Any] | None) -> dict[str, Any]:
    """The fsspec options to open ``url`` with: ``storage_options`` plus our defaults.

    Parameters
    ----------
    url : str
        A URL with a scheme (``s3://bucket/key``, ``https://host/path``).
    storage_options : dict or None
        The caller's fsspec options; a value given here always wins over a default.

    Returns
    -------
    dict
        A new dict: for S3 URLs ``max_concurrency=1`` (one GET per key, no HEAD before it) and
        ``config_kwargs["max_pool_connections"] = S3_CONNECTIONS`` (see the module docstring),
        each unless the caller set it; other URLs get the options unchanged.
    """
    options = dict(storage_options or {})
    scheme = url.split("://", 1)[0].lower()
    if scheme in S3_PROTOCOLS:
        options.setdefault("max_concurrency", 1)
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", S3_CONNECTIONS)
        options["config_kwargs"] = config
    return options


def fsspec_store(url: str, storage_options: dict[str, Any] | None, *,
                 read_only: bool) -> FsspecStore:
    """Zarr's ``FsspecStore`` for ``url``, opened with :func:`fsspec_options`.

    Parameters
    ----------
    url : str
        The URL of the store's root.
    storage_options : dict or None
        fsspec options (credentials, endpoint...).
    read_only : bool
        Refuse writes.

    Raises
    ------
    ValueError, ImportError
        From fsspec, for an unknown scheme or a file system whose package is not installed.
    """
    return FsspecStore.from_url(url, storage_options=fsspec_options(url, storage_options),
                                read_only=read_only)
