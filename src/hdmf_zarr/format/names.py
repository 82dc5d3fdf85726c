"""Rules for node names and node paths (FORMAT.md 1 and 5)."""

from __future__ import annotations

import sys
import warnings

from ..errors import FormatError, InvalidNameError

__all__ = ["check_name", "join_path", "check_target_path", "WINDOWS_RESERVED",
           "NonPortableNameWarning"]


#: Characters Windows file systems refuse in a file name.
WINDOWS_RESERVED = '<>:"\\|?*'
#: True where the local file system is a Windows one (a module attribute so that tests can set it).
ON_WINDOWS = sys.platform == "win32"


class NonPortableNameWarning(UserWarning):
    """A name written to a local directory store that Windows file systems refuse."""


def check_name(name: str, parent_path: str, *, directory: bool = False) -> str:
    """Return ``name`` if it can be a group, dataset or link name, else raise.

    Parameters
    ----------
    name : str
        The name of the new node or link.
    parent_path : str
        Absolute path of the parent group, used in the error message.
    directory : bool, optional
        The store keeps nodes as directories of a local file system: a name with a character
        Windows refuses (``<>:"\\|?*``) is an error on Windows (it would fail there, or, for
        ``\\``, make a subdirectory) and a :class:`NonPortableNameWarning` elsewhere (the store
        cannot be copied to Windows; SQLite and zip stores hold any name).

    Raises
    ------
    InvalidNameError
        When the name is empty, ``.`` or ``..``, contains ``/``, a control character (U+0000 to
        U+001F, U+007F: NUL, tab, newline...), or, on Windows in a directory store, one of
        ``<>:"\\|?*``.
    """
    where = join_path(parent_path, str(name))
    if not isinstance(name, str) or name == "":
        raise InvalidNameError(f"invalid name {name!r}: names must be non-empty strings", where)
    if "/" in name:
        raise InvalidNameError(f"invalid name {name!r}: names must not contain '/'", where)
    if name in (".", ".."):
        raise InvalidNameError(f"invalid name {name!r}: '.' and '..' are reserved", where)
    bad = sorted({c for c in name if ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        codes = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise InvalidNameError(f"invalid name {name!r}: names must not contain control "
                               f"characters ({codes})", where)
    if directory:
        reserved = sorted({c for c in name if c in WINDOWS_RESERVED})
        if reserved:
            chars = " ".join(reserved)
            if ON_WINDOWS:
                raise InvalidNameError(
                    f"invalid name {name!r}: Windows file systems refuse the characters "
                    f"{chars} in a directory store (use an SQLite or zip store)", where)
            warnings.warn(NonPortableNameWarning(
                f"{where}: the name {name!r} holds characters that Windows file systems refuse "
                f"({chars}); this directory store cannot be copied to Windows"), stacklevel=4)
    return name


def join_path(parent: str, name: str) -> str:
    """Join an absolute parent path and a child name (``"/"`` + ``"a"`` -> ``"/a"``)."""
    if parent in ("", "/"):
        return "/" + name
    return parent.rstrip("/") + "/" + name


def check_target_path(path: object, where: str) -> str:
    """Validate a link or reference target path read from a file (FORMAT.md 5).

    Returns the path normalised to start with ``/`` (no trailing ``/``).

    Raises
    ------
    FormatError
        When the path is not a string, contains empty, ``.`` or ``..`` segments or NUL.
    """
    if not isinstance(path, str):
        raise FormatError(f"target path {path!r} is not a string", where)
    if "\x00" in path:
        raise FormatError(f"target path {path!r} contains NUL", where)
    stripped = path.strip("/")
    if stripped == "":
        return "/"
    for part in stripped.split("/"):
        if part in ("", ".", ".."):
            raise FormatError(f"target path {path!r} has an empty, '.' or '..' segment", where)
    return "/" + stripped
