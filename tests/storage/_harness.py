"""What the store test modules share: Zarr's ``StoreTests`` without an async pytest plugin, and
its fixtures for the nested container stores.

Imported as ``from _harness import ...``: ``tests/storage`` has no ``__init__.py``, so pytest puts
it on ``sys.path`` for its test modules.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import pathlib
from typing import ClassVar

import pytest
from zarr.core.buffer import cpu
from zarr.testing.store import StoreTests

__all__ = ["NestedStoreHarness", "collect", "listing", "run_coroutine_tests"]


def run_coroutine_tests(cls):
    """Run the harness's coroutine tests with ``asyncio.run`` (no pytest plugin needed)."""
    for name in dir(cls):
        fn = getattr(cls, name)
        if name.startswith("test_") and inspect.iscoroutinefunction(fn):
            setattr(cls, name, functools.wraps(fn)(
                lambda *a, _fn=fn, **k: asyncio.run(_fn(*a, **k))))
    return cls


async def collect(aiter) -> list:
    """Every item of an async iterator (a store listing), in order."""
    return [k async for k in aiter]


def listing(aiter) -> list[str]:
    """A store listing, sorted, from synchronous test code."""
    return sorted(asyncio.run(collect(aiter)))


class NestedStoreHarness(StoreTests):
    """``StoreTests`` for a nested container store (``store_cls``) on a fresh directory with the
    settings in ``config``. The harness's own ``set``/``get`` write and read loose files, as a
    directory store has them, so the tests also check that such files are found.

    Subclasses are decorated with :func:`run_coroutine_tests` and named ``Test*``.
    """

    buffer_cls = cpu.Buffer
    config: ClassVar[dict] = {}

    @pytest.fixture
    def store_kwargs(self, tmp_path):
        root = tmp_path / "store"
        root.mkdir()
        return {"root": str(root), **self.config}

    @pytest.fixture
    def store(self, open_kwargs):
        store = self.store_cls(**open_kwargs)
        asyncio.run(store._open())
        return store

    @pytest.fixture
    def store_not_open(self, store_kwargs):
        return self.store_cls(**store_kwargs)

    async def set(self, store, key, value):
        path = pathlib.Path(store.root, *key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(path.write_bytes, value.to_bytes())

    async def get(self, store, key):
        path = pathlib.Path(store.root, *key.split("/"))
        return self.buffer_cls.from_bytes(await asyncio.to_thread(path.read_bytes))

    def test_store_repr(self, store):
        assert repr(store).startswith(
            f"{self.store_cls.__name__}({store.root!r}, consolidate_depth=")

    def test_store_supports_writes(self, store):
        assert store.supports_writes

    def test_store_supports_listing(self, store):
        assert store.supports_listing
