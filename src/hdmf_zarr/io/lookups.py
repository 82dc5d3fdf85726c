"""Lookups of :class:`~hdmf_zarr.backend.ZarrIO`: the write status of builders, builders and
containers by path, references, and the static helpers of the hdmf-zarr 0.13/0.14 API
(``get_type``, ``generate_dataset_html``, ``get_zarr_parent_path``)."""

from __future__ import annotations

import os
import posixpath
from typing import Any

from hdmf.backends.io import HDMFIO

from ..format.layout import RefTarget
from ..format.names import check_target_path
from ..write.writer import builder_path
from ..zarr_bridge import store_io
from .stores import node_path

__all__ = ["ZarrLookups"]


class ZarrLookups(HDMFIO):
    """The lookups of :class:`~hdmf_zarr.backend.ZarrIO` (a base class of it, never used
    alone). It relies on ZarrIO's ``_store``, ``_layout``, ``_location``, ``_reader``,
    ``_written_builders``, ``_reader_index`` and ``_require_open``."""

    # ------------------------------------------------------------------ write status
    def get_written(self, builder, check_on_disk: bool = False) -> bool:
        """True when ``builder`` was written to (or read from) this store by this object."""
        written = self._written_builders.get_written(builder)
        if written and check_on_disk:
            written = self.get_builder_exists_on_disk(builder)
        return written

    def _set_written(self, builder) -> None:
        self._written_builders.set_written(builder)

    def get_builder_exists_on_disk(self, builder) -> bool:
        """True when the node of ``builder`` exists in the store."""
        self._require_open()
        key = builder_path(builder).strip("/")
        return any(store_io.exists(self._store, store_io.node_key(key, n))
                   for n in self._layout.node_marker_documents)

    def get_builder_disk_path(self, builder, filepath: str | None = None) -> str:
        """Location of the node of ``builder``: the store location joined with its path."""
        base = filepath if filepath is not None else (self._location or "")
        return os.path.join(base, builder_path(builder).lstrip("/"))

    # ------------------------------------------------------------------ builders by path
    def get_builder(self, path):
        """The builder of the object at absolute ``path`` (a string, or a ``zarr.Group`` /
        ``zarr.Array`` of this store, as hdmf-zarr 0.13/0.14 take it).

        Raises
        ------
        KeyError
            When there is no object at that path.
        """
        path = node_path(path)
        index = self._reader_index()
        key = "/" + str(path).strip("/") if str(path).strip("/") else "/"
        if key not in index:
            raise KeyError(f"{self.source}: no object at {key}")
        return index[key]

    def get_container(self, path):
        """The container of the object at absolute ``path`` (string or zarr node, as
        :meth:`get_builder`)."""
        return self.manager.construct(self.get_builder(path))

    def resolve_ref(self, zarr_ref):
        """Resolve a stored reference (a ZarrReference dict, a ``{"source","path"}`` dict or a
        path string) to ``(name, builder)``."""
        if isinstance(zarr_ref, str):
            target = RefTarget(".", check_target_path(zarr_ref, "reference"))
        else:
            target = RefTarget(zarr_ref.get("source", ".") or ".",
                               check_target_path(zarr_ref.get("path"), "reference"))
        self.read_builder()
        builder = self._reader.resolve_target(target, "reference")
        return builder.name, builder

    # ------------------------------------------------------------------ static helpers
    @staticmethod
    def get_zarr_parent_path(zarr_object) -> str:
        """Absolute path inside its store of the group holding ``zarr_object`` (a
        ``zarr.Group`` or ``zarr.Array``): ``/a`` for the node ``/a/b``, ``/`` for a child of
        the root and for the root itself."""
        return posixpath.dirname(node_path(zarr_object).rstrip("/")) or "/"

    @staticmethod
    def get_type(data: Any) -> type:
        """The element type of ``data``: ``str``/``bytes`` for text, the NumPy scalar type for
        arrays (anything with a ``dtype``), else the type of the first element, looked up
        recursively through nested sequences; ``type(data)`` for a scalar.

        Raises
        ------
        ValueError
            For an empty sequence (no element to look at).
        """
        if isinstance(data, (str, bytes)):
            return type(data)
        dtype = getattr(data, "dtype", None)
        if dtype is not None and not isinstance(dtype, type):
            return getattr(dtype, "type", type(data))
        if not hasattr(data, "__len__") or isinstance(data, dict):
            return type(data)
        if len(data) == 0:
            raise ValueError("cannot determine the type of empty data")
        return ZarrLookups.get_type(data[0])

    @staticmethod
    def generate_dataset_html(dataset) -> str:
        """An HTML summary of a dataset: shape, dtype, chunks, codecs and stored size."""
        import zarr
        from hdmf.utils import generate_array_html_repr, get_basic_array_info

        info = get_basic_array_info(dataset)
        if isinstance(dataset, zarr.Array):
            info["Chunk shape"] = dataset.chunks
            codecs = [type(c).__name__ for c in (*dataset.filters, *dataset.compressors)]
            info["Codecs"] = ", ".join(codecs) or "none"
            try:
                info["Data stored (bytes)"] = dataset.nbytes_stored()
            except Exception:  # remote stores may not report sizes
                pass
        return generate_array_html_repr(info, dataset, "Zarr array")
