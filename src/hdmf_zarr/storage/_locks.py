"""Locks and write batching shared by the single-file and container stores.

Two tools:

* :func:`file_lock` takes an advisory ``flock`` on a file itself (the container file of a nested
  store), shared for readers and exclusive for writers. It works across processes and across
  threads of one process (each call opens its own file descriptor), and it survives the file
  being replaced (``os.replace``) or removed by the holder: a waiter that wakes up on a file that
  is no longer at the path starts over.
* :class:`BatchQueue` coalesces writes that arrive concurrently for one resource (a container
  file, an SQLite database): the first thread to get hold of the resource commits everything
  queued until then, so a burst of ``store.set`` calls costs one open/commit instead of one each.

On platforms without ``fcntl`` (Windows) the file lock degrades to an in-process lock and the
stores are safe across threads only.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import StoreModeError

if sys.platform != "win32":  # POSIX
    import fcntl

__all__ = ["LOCK_TIMEOUT", "BatchQueue", "file_lock"]

#: Seconds to wait for a lock held by another thread or process before giving up.
LOCK_TIMEOUT = 300.0

_local_locks: dict[str, threading.RLock] = {}
_local_locks_guard = threading.Lock()


def _local_lock(path: str) -> threading.RLock:  # pragma: no cover - Windows only
    with _local_locks_guard:
        return _local_locks.setdefault(path, threading.RLock())


def _flock(fd: int, exclusive: bool, path: str, timeout: float) -> None:
    """Take the flock on ``fd``, polling so that a stuck holder ends in a clear error."""
    op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, op)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreModeError(
                    f"timed out after {timeout:.0f} s waiting for the lock of this file "
                    "(another thread or process holds it)", path) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.01)


@contextmanager
def file_lock(path: str, *, exclusive: bool, create: bool,
              timeout: float = LOCK_TIMEOUT) -> Iterator[int | None]:
    """Hold an advisory lock on the file at ``path`` for the duration of the ``with`` block.

    Parameters
    ----------
    path : str
        The file to lock (the lock is taken on the file itself, no lock file is created).
    exclusive : bool
        True for a writer's exclusive lock, False for a reader's shared lock.
    create : bool
        Create an empty file (and its parent directories) when there is none. When False and
        the file does not exist, the block runs without a lock and receives None.
    timeout : float, optional
        Seconds to wait for another holder before giving up.

    Yields
    ------
    int or None
        The file descriptor holding the lock (closed, which releases the lock, on exit), or None
        when the file does not exist and ``create`` is False.

    Raises
    ------
    StoreModeError
        When the lock cannot be taken within ``timeout`` seconds.
    OSError
        When the file cannot be opened or created (permissions, a directory in the way...).
    """
    if sys.platform == "win32":  # pragma: no cover - Windows
        if not create and not os.path.exists(path):
            yield None
            return
        if create:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            open(path, "ab").close()
        with _local_lock(path):
            yield -1
        return
    flags = (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY
    flags |= getattr(os, "O_CLOEXEC", 0)
    attempts = 0
    while True:
        attempts += 1
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:
            if not create:
                yield None
                return
            if attempts > 100:
                raise
            # the parent directory is missing, or was pruned by a concurrent delete: (re)create it
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            continue
        try:
            _flock(fd, exclusive, path, timeout)
            # the holder before us may have replaced or removed the file: then our lock is on a
            # file that is no longer at ``path`` and we must start over
            held = os.fstat(fd)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is None or (current.st_ino, current.st_dev) != (held.st_ino, held.st_dev):
                os.close(fd)
                fd = -1
                if attempts > 1000:
                    raise StoreModeError("the file keeps being replaced while waiting for its lock",
                                         path)
                continue
        except BaseException:
            if fd >= 0:
                os.close(fd)
            raise
        try:
            yield fd
        finally:
            os.close(fd)
        return


class _Ticket:
    __slots__ = ("done", "error", "items")

    def __init__(self, items: Sequence[Any]):
        self.items = items
        self.done = False
        self.error: BaseException | None = None


class _Slot:
    __slots__ = ("lock", "pending", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[_Ticket] = []
        self.users = 0


class BatchQueue:
    """Coalesce concurrent write batches per resource (group commit).

    Each :meth:`submit` queues its items and waits for the resource; whoever gets the resource
    first commits every queued batch in one call of ``commit``. A failure of that call is raised
    in every thread whose items were part of it.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._slots: dict[Any, _Slot] = {}

    def submit(self, resource: Any, items: Sequence[Any],
               commit: Callable[[list[Any]], None]) -> None:
        """Queue ``items`` for ``resource`` and return once they are committed.

        Parameters
        ----------
        resource : hashable
            What the items are written to (a container path, a database path).
        items : sequence
            The items of this call.
        commit : callable
            ``commit(all_items)`` writes a list of items (from this and other concurrent calls)
            in one go; it runs in the calling thread with the resource held.

        Raises
        ------
        Exception
            Whatever ``commit`` raised for the batch holding these items.
        """
        ticket = _Ticket(items)
        with self._guard:
            slot = self._slots.get(resource)
            if slot is None:
                slot = self._slots[resource] = _Slot()
            slot.users += 1
            slot.pending.append(ticket)
        try:
            with slot.lock:
                if not ticket.done:
                    with self._guard:
                        batch, slot.pending = slot.pending, []
                    merged = [item for t in batch for item in t.items]
                    error = None
                    try:
                        commit(merged)
                    except BaseException as exc:
                        error = exc
                    for t in batch:
                        t.error = error
                        t.done = True
        finally:
            with self._guard:
                slot.users -= 1
                if slot.users == 0 and not slot.pending:
                    self._slots.pop(resource, None)
        if ticket.error is not None:
            raise ticket.error
