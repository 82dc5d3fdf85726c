"""Fixtures of the round-trip catalogue: the layout parameter and the write/read helper.

``roundtrip(container)`` writes ``container`` with the selected backend into ``tmp_path`` in the
layout of the test's ``layout`` parameter (2 -> L2, 3 -> L3), opens the result for reading and
returns the container read back. The reader stays open until the test ends (read data is lazy) and
is closed by the fixture afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hdmf.common import get_manager

from . import _helpers as h


class RoundTrip:
    """Write, open and read files of one test; every IO object opened is closed at teardown."""

    def __init__(self, tmp_path: Path, layout: int):
        self.tmp_path = tmp_path
        self.layout = layout
        self._ios: list = []
        self._counter = 0
        self.last_path: Path | None = None

    # paths ---------------------------------------------------------------------------------
    def path(self, stem: str | None = None, *, generic: bool = False) -> Path:
        if stem is None:
            self._counter += 1
            stem = f"file{self._counter}"
        return self.tmp_path / f"{stem}{h.GENERIC_SUFFIX if generic else h.NWB_SUFFIX}"

    # IO objects ----------------------------------------------------------------------------
    def io(self, path, mode: str, *, generic: bool = False, manager=None, **kwargs):
        """Open an IO object that the fixture closes at teardown."""
        if generic:
            io = h.generic_io(path, mode, self.layout, manager=manager or get_manager(), **kwargs)
        else:
            if manager is not None:
                kwargs["manager"] = manager
            io = h.nwb_io(path, mode, self.layout, **kwargs)
        self._ios.append(io)
        return io

    def write(self, container, path=None, *, generic: bool = False, manager=None,
              **write_kwargs) -> Path:
        """Write ``container`` to a new file in the test's layout and check the layout on disk."""
        path = Path(path) if path is not None else self.path(generic=generic)
        io = self.io(path, "w", generic=generic, manager=manager)
        try:
            io.write(container, **write_kwargs)
        finally:
            io.close()
        if not h.IS_HDF5:
            assert h.raw_layout(path) == self.layout, (
                f"asked for layout L{self.layout}, the store root says L{h.raw_layout(path)}")
        self.last_path = path
        return path

    def read(self, path, *, generic: bool = False, manager=None, **kwargs):
        """Open ``path`` for reading (kept open until teardown) and return the root container."""
        io = self.io(path, "r", generic=generic, manager=manager, **kwargs)
        return io.read()

    def __call__(self, container, *, stem: str | None = None, generic: bool = False,
                 manager=None, write_kwargs: dict | None = None, read_kwargs: dict | None = None):
        path = self.write(container, self.path(stem, generic=generic), generic=generic,
                          manager=manager, **(write_kwargs or {}))
        return self.read(path, generic=generic, **(read_kwargs or {}))

    def close(self) -> None:
        errors = []
        while self._ios:
            io = self._ios.pop()
            try:
                io.close()
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]


@pytest.fixture(params=h.LAYOUTS, ids=h.LAYOUT_IDS)
def layout(request) -> int:
    """The on-disk layout of the test: 2 (L2, Zarr format 2) or 3 (L3, Zarr format 3)."""
    return request.param


@pytest.fixture
def roundtrip(tmp_path, layout):
    """A :class:`RoundTrip`; call it with a container to get the container read back."""
    rt = RoundTrip(tmp_path, layout)
    try:
        yield rt
    finally:
        rt.close()
