"""The assumption zarr_bridge.wrapped_store makes about Zarr's wrapper stores."""

import pytest
from zarr.storage import LocalStore, LoggingStore, MemoryStore, WrapperStore

from hdmf_zarr.storage import store_location
from hdmf_zarr.zarr_bridge.wrapped_store import inner_store


@pytest.mark.parametrize("wrapper", [WrapperStore, LoggingStore], ids=["wrapper", "logging"])
def test_wrapper_stores_keep_the_wrapped_store(tmp_path, wrapper):
    local = LocalStore(str(tmp_path))
    outer = wrapper(local)
    assert inner_store(outer) is local
    assert inner_store(wrapper(outer)) is outer  # one level at a time
    assert store_location(wrapper(outer)) == str(tmp_path)


def test_plain_stores_wrap_nothing(tmp_path):
    assert inner_store(MemoryStore()) is None
    assert inner_store(LocalStore(str(tmp_path))) is None
