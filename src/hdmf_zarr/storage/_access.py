"""Errors of reaching a store, raised as the package's own errors naming the store's location
(issue "Every store", bad input: unreachable or unauthorized remote stores)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..errors import HdmfZarrError, NotHdmfStoreError, StoreAccessError

__all__ = ["store_access"]

#: Modules whose exceptions mean "the store could not be reached or read".
_TRANSPORT_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "gcsfs", "fsspec",
                      "obstore", "requests", "urllib3", "google.auth", "azure")


def _is_transport_error(exc: BaseException) -> bool:
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return False  # open_store reports missing paths itself
    if isinstance(exc, OSError):  # PermissionError, ConnectionError, TimeoutError...
        return True
    module = type(exc).__module__ or ""
    return module.startswith(_TRANSPORT_MODULES)


@contextlib.contextmanager
def store_access(location: str | None) -> Iterator[None]:
    """Run the opening of a store; transport failures become :class:`StoreAccessError` and
    "not a store" errors name ``location`` instead of the root path ``/``.

    Parameters
    ----------
    location : str or None
        Path or URL of the store, for messages.

    Raises
    ------
    StoreAccessError
        The store could not be reached or read (the cause is kept as ``__cause__``).
    NotHdmfStoreError
        Re-raised naming ``location`` when it named only ``/``.
    """
    try:
        yield
    except NotHdmfStoreError as exc:
        if location and exc.path == "/":
            message = str(exc)
            if message.startswith("/: "):
                message = message[3:]
            raise NotHdmfStoreError(message, location) from exc
        raise
    except HdmfZarrError:
        raise
    except Exception as exc:
        if not _is_transport_error(exc):
            raise
        where = location or "<store>"
        raise StoreAccessError(f"{where}: cannot access the store ({type(exc).__name__}: "
                               f"{exc})", where) from exc
