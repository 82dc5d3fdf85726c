"""The exception hierarchy of hdmf_zarr.

Every error raised on purpose by this package derives from :class:`HdmfZarrError` and names the
object path it is about (a node path inside the store, a store location, or both), so that a user
reading a traceback knows which object of which file is at fault.

The classes also derive from the builtin exception that fits their meaning (``ValueError``,
``TypeError``, ``KeyError`` ...), so code written against the established hdmf_zarr, which raised
builtins, keeps catching them.
"""

from __future__ import annotations

from hdmf.backends.errors import UnsupportedOperation
from hdmf.build.errors import ConstructError

__all__ = [
    "HdmfZarrError",
    "InvalidNameError",
    "UnstorableValueError",
    "UnsupportedDataError",
    "FormatError",
    "UnknownCodecError",
    "UnsafePickleError",
    "UnsafePickleCodecError",
    "IncompleteConversionError",
    "ContainerConstructionError",
    "LinkResolutionError",
    "ReferenceResolutionError",
    "StoreModeError",
    "NotHdmfStoreError",
    "StoreAccessError",
    "IncompleteWriteError",
    "IncompleteWriteWarning",
]


class HdmfZarrError(Exception):
    """Base class of every error raised on purpose by hdmf_zarr.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str, optional
        The object path (``/acquisition/es/data``) or store location the error is about. It is
        prefixed to the message unless the message already contains it.
    """

    def __init__(self, message: str, path: str | None = None):
        self.path = path
        if path is not None and path not in message:
            message = f"{path}: {message}"
        super().__init__(message)


class InvalidNameError(HdmfZarrError, ValueError):
    """A group, dataset, link or attribute name that cannot be stored (``/``, ``.``, ``..``,
    empty)."""


class UnstorableValueError(HdmfZarrError, TypeError):
    """An attribute or dataset value that cannot be encoded in the chosen layout."""


class UnsupportedDataError(HdmfZarrError, ValueError):
    """Data the layout cannot represent (e.g. a scalar compound with a reference field in L3)."""


class FormatError(HdmfZarrError, ValueError):
    """A metadata document or chunk that does not follow FORMAT.md (corrupt or forged input)."""


class UnknownCodecError(FormatError):
    """A codec id or data type that this reader does not know (FORMAT.md section 5)."""


class UnsafePickleCodecError(FormatError):
    """A pickle-encoded array that is refused (the name hdmf-zarr 0.14 gives this error, in
    ``hdmf_zarr.backend_zarrv2``). A ``ValueError``. This package never runs a general
    unpickler: see :class:`UnsafePickleError`, the subclass it raises."""


class UnsafePickleError(UnsafePickleCodecError):
    """A pickled chunk that names a global outside the allowed list (FORMAT.md section 2.5)."""


class IncompleteConversionError(HdmfZarrError, RuntimeError):
    """A conversion to Zarr format 3 (``NWBZarrV2IO.convert_to_v3``) that would leave out
    entries of the source that could not be read (broken links or references); the entries are
    listed in the message and in :attr:`skipped_entries`.

    Parameters
    ----------
    message : str
    path : str, optional
        The source location.
    skipped_entries : list of str, optional
        ``"<object path>: <reason>"`` for each entry left out.
    """

    def __init__(self, message: str, path: str | None = None,
                 skipped_entries: list | None = None):
        self.skipped_entries = list(skipped_entries or [])
        super().__init__(message, path)


class ContainerConstructionError(FormatError, ConstructError):
    """hdmf cannot make a container from what the file stores at a path (a required field
    missing or malformed). Also an ``hdmf.build.errors.ConstructError``, which hdmf raised before
    (the original is kept as ``__cause__``)."""


class LinkResolutionError(HdmfZarrError, KeyError):
    """A link whose target cannot be found or opened."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return Exception.__str__(self)


class ReferenceResolutionError(HdmfZarrError, KeyError):
    """An object reference whose target cannot be found."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class StoreModeError(HdmfZarrError, UnsupportedOperation):
    """An operation that the mode the store was opened in does not allow (write in ``r``,
    ``w-`` on an existing store...). Also an ``hdmf.backends.errors.UnsupportedOperation``, which
    is what HDMF's own backends raise for these cases."""


class NotHdmfStoreError(HdmfZarrError, ValueError):
    """A path that does not hold a Zarr group root, or not an HDMF file."""


class StoreAccessError(HdmfZarrError, OSError):
    """The store cannot be reached or read: a remote endpoint that does not answer, a request
    refused (unauthorized, forbidden), a permission error. The library's own error is kept as
    ``__cause__``."""


class IncompleteWriteError(FormatError):
    """The store holds the write-in-progress marker: a write into it was interrupted (the
    process was killed, the machine lost power, or the write ended with an exception), so some
    of its objects may be missing or partly written. Raised on open in modes ``r``, ``r+`` and
    ``a``; mode ``r-`` opens such a store with an :class:`IncompleteWriteWarning` instead, to
    recover what it holds."""


class IncompleteWriteWarning(UserWarning):
    """Warning of mode ``r-`` on a store whose last write was interrupted (see
    :class:`IncompleteWriteError`)."""
