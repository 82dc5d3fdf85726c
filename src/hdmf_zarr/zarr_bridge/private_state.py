"""Private state of Zarr objects that hdmf_zarr reads, named in one place.

What we rely on
---------------
* A ``zarr.codecs.BloscCodec`` created without ``shuffle`` leaves the shuffle to Zarr, which
  picks it from the item size when the array is created. Zarr 3.1 records such attributes in the
  private set ``BloscCodec._tunable_attrs``; a release without that set gives ``shuffle=None``
  for the same case. :func:`blosc_shuffle_is_automatic` reads either.
* A ``zarr.storage.WrapperStore`` (read-only and other views of a store) keeps the store it
  wraps in the private attribute ``_store``; :func:`wrapped_store` reads it.

``tests/zarr_bridge/test_private_state.py`` checks both against the installed Zarr.
"""

from __future__ import annotations

from typing import Any

__all__ = ["blosc_shuffle_is_automatic", "wrapped_store"]


def blosc_shuffle_is_automatic(codec: Any) -> bool:
    """True when the shuffle of a Zarr 3 ``BloscCodec`` is left to Zarr (not given by the user).

    Parameters
    ----------
    codec : zarr.codecs.BloscCodec
    """
    shuffle = getattr(codec.shuffle, "value", codec.shuffle)
    return "shuffle" in getattr(codec, "_tunable_attrs", ()) or shuffle is None


def wrapped_store(store: Any) -> Any:
    """The store a wrapping store (``zarr.storage.WrapperStore``, a read-only view...) wraps,
    or None when ``store`` wraps none."""
    return getattr(store, "_store", None)
