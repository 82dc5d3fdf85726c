"""The assumptions zarr_bridge.runtime makes about the installed Zarr, each checked directly."""

import asyncio
import threading

import pytest
from zarr.abc.store import Store
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr.zarr_bridge import runtime


def test_run_returns_the_result_on_zarrs_loop_thread():
    caller = threading.get_ident()

    async def where():
        await asyncio.sleep(0)
        return threading.get_ident(), asyncio.get_running_loop()

    thread, loop = runtime.run(where())
    assert thread != caller  # Zarr runs its loop on its own thread
    thread2, loop2 = runtime.run(where())
    assert loop2 is loop and thread2 == thread  # one loop for every call


def test_run_raises_the_coroutines_exception():
    async def fail():
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        runtime.run(fail())


def test_run_honours_a_timeout():
    with pytest.raises(TimeoutError):
        runtime.run(asyncio.sleep(5), timeout=0.05)


@pytest.mark.parametrize("make", [lambda p: MemoryStore(), lambda p: LocalStore(str(p))],
                         ids=["memory", "local"])
def test_buffers_round_trip_through_zarrs_own_stores(tmp_path, make):
    store = make(tmp_path)
    assert isinstance(store, Store)
    proto = runtime.default_buffer_prototype()
    assert isinstance(proto, runtime.BufferPrototype)
    buf = runtime.to_buffer(b"\x00\x01hdmf")
    assert isinstance(buf, runtime.Buffer)
    runtime.run(store.set("a/b", buf))
    got = runtime.run(store.get("a/b", proto))
    assert isinstance(got, runtime.Buffer)
    assert got.to_bytes() == b"\x00\x01hdmf"
    assert runtime.run(store.get("missing", proto)) is None


def test_data_type_validation_error_is_what_zarr_data_types_raise():
    from zarr.core.dtype import Int8

    with pytest.raises(runtime.DataTypeValidationError):
        Int8.from_json("float64", zarr_format=3)
