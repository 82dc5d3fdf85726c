"""Store keys that stay inside their store (issue 14 items 1, 3 and 5; FORMAT.md 5).

A Zarr store key is a ``/``-separated relative name. Wherever a key becomes a file name (a
directory store, ``unpack``, ``pack``, ``copy_store``) or is formed by the reader from names
found in a document (consolidated metadata, links, ``.specloc``), it must not be able to leave
the store: :func:`check_key` refuses absolute keys, empty, ``.`` and ``..`` components, NUL and
backslashes. :func:`open_inside` opens the file of a key in a directory store only when it
resolves (symbolic links followed) to a regular file below the store's root, so that a link to
``/etc/passwd``, a FIFO or ``/dev/zero`` placed in a store is refused instead of read.
"""

from __future__ import annotations

import os
import stat
from typing import TypeGuard

from ..errors import FormatError

__all__ = ["is_safe_key", "check_key", "inside_root", "open_inside"]


def is_safe_key(key: object) -> TypeGuard[str]:
    """True when ``key`` is a relative ``/``-separated store key that stays inside its store.

    The root key ``""`` is allowed (a prefix naming the whole store); otherwise no component may
    be empty (``a//b``, a leading or trailing ``/``), ``.`` or ``..``, and the key holds no NUL
    and no backslash (a separator on Windows).
    """
    if not isinstance(key, str):
        return False
    if key == "":
        return True
    if "\x00" in key or "\\" in key:
        return False
    return not any(part in ("", ".", "..") for part in key.split("/"))


def check_key(key: object, where: str | None = None) -> str:
    """Return ``key`` when :func:`is_safe_key` accepts it.

    Parameters
    ----------
    key : str
        A store key.
    where : str, optional
        The store location or object path named by the error.

    Raises
    ------
    FormatError
        Naming the key, when it could leave the store (absolute, ``..``, empty components...).
    """
    if not is_safe_key(key):
        raise FormatError(f"store key {key!r} is not a relative key inside the store (absolute, "
                          "'..', '.' or empty components, NUL or backslash)", where or str(key))
    return key


def inside_root(root: str, path: str) -> bool:
    """True when ``path`` (symbolic links resolved) is ``root`` or lies below it (``root``
    resolved too)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def open_inside(root: str, key: str) -> int | None:
    """Open the file of ``key`` in the directory store at ``root`` for reading.

    Parameters
    ----------
    root : str
        The store's directory.
    key : str
        A store key.

    Returns
    -------
    int or None
        An open file descriptor (the caller closes it), or None when there is no such file (or a
        directory is there).

    Raises
    ------
    FormatError
        When the key is not safe (:func:`check_key`), resolves outside ``root`` (a symbolic link
        leading out), or names something other than a regular file (FIFO, device, socket).
    """
    check_key(key, root)
    path = os.path.join(root, *key.split("/"))
    real = os.path.realpath(path)
    if not inside_root(root, real):
        raise FormatError(f"store key {key!r} is a symbolic link leading outside the store",
                          root)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise FormatError(f"store key {key!r} cannot be opened ({exc.strerror})", root) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            os.close(fd)
            return None
        if not stat.S_ISREG(mode):
            raise FormatError(f"store key {key!r} is not a regular file (a FIFO, device or "
                              "socket)", root)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    return fd
