"""A store wrapper for request-count tests: counts requests, adds a delay to each, and counts
sequential round trips (a request that starts while no other request is in flight).

Tests assert counts, never times: the delay only makes concurrency visible (requests started
together overlap, so they share one round trip)."""

from __future__ import annotations

import asyncio
from collections import Counter

from zarr.storage import WrapperStore


class RoundTripStore(WrapperStore):
    """Counts ``get``/``exists``/listing requests and sequential round trips.

    Parameters
    ----------
    store : zarr.abc.store.Store
        The store wrapped.
    delay : float
        Seconds each request waits before it is answered (default 5 ms).
    """

    def __init__(self, store, delay: float = 0.005):
        super().__init__(store)
        self.delay = delay
        self.gets: Counter = Counter()
        self.found: Counter = Counter()
        self.requests = 0
        self.round_trips = 0
        self.listings = 0
        self.log: list[tuple[int, str]] = []
        self._in_flight = 0

    def _with_store(self, store):
        return type(self)(store, self.delay)

    def with_read_only(self, read_only=False):
        out = type(self)(self._store.with_read_only(read_only), self.delay)
        out.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_store"})
        return out

    def reset(self) -> None:
        """Forget the counts (e.g. after opening, to count what a read costs)."""
        self.gets.clear()
        self.found.clear()
        self.requests = self.round_trips = self.listings = 0
        self.log.clear()

    async def _request(self, what: str, coro):
        if self._in_flight == 0:
            self.round_trips += 1
        self._in_flight += 1
        self.requests += 1
        self.log.append((self.round_trips, what))
        try:
            await asyncio.sleep(self.delay)
            return await coro
        finally:
            self._in_flight -= 1

    async def get(self, key, prototype, byte_range=None):
        value = await self._request(key, self._store.get(key, prototype, byte_range))
        self.gets[key] += 1
        if value is not None:
            self.found[key] += 1
        return value

    async def get_partial_values(self, prototype, key_ranges):
        key_ranges = list(key_ranges)
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key):
        self.gets[key] += 1
        return await self._request(f"exists {key}", self._store.exists(key))

    async def _listing(self, what: str, agen):
        out = [k async for k in agen]
        return out

    def _list_counted(self, what: str, agen):
        self.listings += 1

        async def gen():
            for k in await self._request(what, self._listing(what, agen)):
                yield k
        return gen()

    def list(self):
        return self._list_counted("list", self._store.list())

    def list_prefix(self, prefix):
        return self._list_counted(f"list_prefix {prefix}", self._store.list_prefix(prefix))

    def list_dir(self, prefix):
        return self._list_counted(f"list_dir {prefix}", self._store.list_dir(prefix))

    def rounds(self) -> dict[int, list[str]]:
        """The requests of each round trip, in order (for messages of failing tests)."""
        out: dict[int, list[str]] = {}
        for n, what in self.log:
            out.setdefault(n, []).append(what)
        return out
