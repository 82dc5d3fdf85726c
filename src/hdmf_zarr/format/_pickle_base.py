"""Internal pieces shared by the restricted pickle decoder (``safe_pickle``) and its
post-decode check (``pickle_check``)."""

from __future__ import annotations

__all__ = ["DecodedReference"]


class _Refused(Exception):
    """Internal: the stream tried something unsafe (becomes UnsafePickleError)."""


class _Malformed(Exception):
    """Internal: the stream is well-behaved but does not describe what we accept."""


class _Frozen(type):
    """Metaclass of the stand-in classes: class attributes cannot be set or deleted, so a
    ``BUILD`` opcode applied to the class object itself cannot rewrite its methods."""

    def __setattr__(cls, name, value):
        raise _Refused(f"attempt to set attribute {name!r} on {cls.__name__}")

    def __delattr__(cls, name):
        raise _Refused(f"attempt to delete attribute {name!r} of {cls.__name__}")


class DecodedReference(dict, metaclass=_Frozen):
    """A decoded ``hdmf_zarr.utils.ZarrReference``: a plain ``dict`` with the keys ``source``,
    ``path`` and usually ``object_id`` and ``source_object_id``.

    Pickle streams build it with ``NEWOBJ`` (no arguments) followed by ``SETITEMS``. It carries no
    behaviour of its own, and has no instance ``__dict__``, so ``BUILD`` cannot attach state.
    """

    __slots__ = ()
    __module__ = "hdmf_zarr.format.safe_pickle"
