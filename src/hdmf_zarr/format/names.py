"""Rules for node names and node paths (FORMAT.md 1 and 5)."""

from __future__ import annotations

from ..errors import FormatError, InvalidNameError

__all__ = ["check_name", "join_path", "check_target_path"]


def check_name(name: str, parent_path: str) -> str:
    """Return ``name`` if it can be a group, dataset or link name, else raise.

    Parameters
    ----------
    name : str
        The name of the new node or link.
    parent_path : str
        Absolute path of the parent group, used in the error message.

    Raises
    ------
    InvalidNameError
        When the name is empty, ``.`` or ``..``, contains ``/`` or a NUL character.
    """
    where = join_path(parent_path, str(name))
    if not isinstance(name, str) or name == "":
        raise InvalidNameError(f"invalid name {name!r}: names must be non-empty strings", where)
    if "/" in name:
        raise InvalidNameError(f"invalid name {name!r}: names must not contain '/'", where)
    if name in (".", ".."):
        raise InvalidNameError(f"invalid name {name!r}: '.' and '..' are reserved", where)
    if "\x00" in name:
        raise InvalidNameError(f"invalid name {name!r}: names must not contain NUL", where)
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
