"""The store inside one of Zarr's wrapper stores, named in one place.

Zarr's :class:`zarr.storage.WrapperStore` (and its subclasses ``LoggingStore``,
``LatencyStore``...) forwards every call to the store it wraps but has no public attribute for
it: it keeps it as ``_store``. :func:`inner_store` is the only reader of that attribute, and
``tests/zarr_bridge/test_wrapped_store.py`` checks the assumption against the installed Zarr.
"""

from __future__ import annotations

from zarr.abc.store import Store

__all__ = ["inner_store"]

#: The attribute where Zarr's ``WrapperStore`` keeps the store it wraps.
_WRAPPED_ATTRIBUTE = "_store"


def inner_store(store: Store) -> Store | None:
    """The store that ``store`` wraps, or None when it wraps none.

    Parameters
    ----------
    store : zarr.abc.store.Store
        Any store; a ``zarr.storage.WrapperStore`` (or a store following its convention of
        keeping the wrapped store as ``_store``) gives the store inside it.

    Returns
    -------
    zarr.abc.store.Store or None
        One level down only: the result may itself be a wrapper.
    """
    inner = getattr(store, _WRAPPED_ATTRIBUTE, None)
    return inner if isinstance(inner, Store) and inner is not store else None
