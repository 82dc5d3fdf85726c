"""Private state of Zarr objects that hdmf_zarr reads, named in one place.

What we rely on
---------------
* A ``zarr.codecs.BloscCodec`` created without ``shuffle`` leaves the shuffle to Zarr, which
  picks it from the item size when the array is created. Zarr 3.1 records such attributes in the
  private set ``BloscCodec._tunable_attrs``; a release without that set gives ``shuffle=None``
  for the same case. :func:`blosc_shuffle_is_automatic` reads either.

``tests/zarr_bridge/test_private_state.py`` checks it against the installed Zarr. The store
inside a ``WrapperStore`` is read by :mod:`hdmf_zarr.zarr_bridge.wrapped_store`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["blosc_shuffle_is_automatic"]


def blosc_shuffle_is_automatic(codec: Any) -> bool:
    """True when the shuffle of a Zarr 3 ``BloscCodec`` is left to Zarr (not given by the user).

    Parameters
    ----------
    codec : zarr.codecs.BloscCodec
    """
    shuffle = getattr(codec.shuffle, "value", codec.shuffle)
    return "shuffle" in getattr(codec, "_tunable_attrs", ()) or shuffle is None

