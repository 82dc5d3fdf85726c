"""Namespaces of a store for :class:`~hdmf_zarr.backend.ZarrIO`: whether a path can be read,
and the namespaces (specs) cached in it (FORMAT.md 2.6, 3.6)."""

from __future__ import annotations

from hdmf.backends.io import HDMFIO
from zarr.abc.store import Store

from ..read.documents import detect_layout
from ..read.specs import cached_namespaces, load_cached_namespaces
from ..storage import open_store
from .stores import group_store

__all__ = ["ZarrNamespaces"]


class ZarrNamespaces(HDMFIO):
    """The namespace class methods of :class:`~hdmf_zarr.backend.ZarrIO` (a base class of it,
    never used alone)."""

    @staticmethod
    def can_read(path) -> bool:
        """True when ``path`` holds a Zarr group root of either format; never raises."""
        try:
            store, _loc = open_store(path, "r")
            try:
                detect_layout(store)
            finally:
                close = getattr(store, "close", None)
                if close is not None and not isinstance(path, Store):
                    close()
            return True
        except Exception:
            return False

    @classmethod
    def load_namespaces(cls, namespace_catalog, path=None, file=None, storage_options=None,
                        namespaces=None, driver=None, aws_region=None, **kwargs):
        """Load the namespaces cached in a store into a NamespaceCatalog or TypeMap.

        Parameters
        ----------
        namespace_catalog : hdmf.spec.NamespaceCatalog or hdmf.build.TypeMap
        path : str, pathlib.Path or zarr Store, optional
            The store (or ``file``: an open store or the root ``zarr.Group`` ``io._file``, as
            ``pynwb.validate`` passes it).
        namespaces : list of str, optional
            The namespaces to load; all cached ones by default.
        driver, aws_region : ignored
            Accepted because ``pynwb.validate(path=...)`` passes them to every backend.

        Returns
        -------
        dict
            Namespace name -> {included namespace -> included types}, as hdmf returns it.

        Raises
        ------
        ValueError
            When neither ``path`` nor ``file`` is given.
        IncompleteWriteError
            When the store holds the write-in-progress marker.
        """
        from ..backend import check_complete  # (backend imports this module)

        target = group_store(file) if file is not None else path
        if target is None:
            raise ValueError("load_namespaces needs a path or an open store")
        store, _loc = open_store(target, "r", storage_options)
        try:
            check_complete(store, "r", str(_loc or target))
            return load_cached_namespaces(namespace_catalog, store, namespaces,
                                          str(_loc or target))
        finally:
            if not isinstance(target, Store):
                close = getattr(store, "close", None)
                if close is not None:
                    close()

    def load_namespaces_io(self, namespace_catalog, namespaces=None):
        """Load the namespaces cached in this open store (see :meth:`load_namespaces`)."""
        self._require_open()
        return load_cached_namespaces(namespace_catalog, self._store, namespaces,
                                      str(self.source))

    @classmethod
    def get_namespaces(cls, path=None, file=None, storage_options=None) -> dict:
        """Names and (highest) versions of the namespaces cached in a store."""
        target = group_store(file) if file is not None else path
        store, _loc = open_store(target, "r", storage_options)
        root_docs: dict = {}
        layout = detect_layout(store, root_docs)
        return cached_namespaces(store, layout, root_docs)[1]
