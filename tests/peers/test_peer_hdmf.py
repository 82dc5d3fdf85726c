"""hdmf's common round trips through ZarrIO, in layouts L2 and L3.

The round-trip classes of ``tests/unit/common`` of the installed hdmf's source distribution
(fetched with pip, see ``_fetch``) run here as ``<module>__<Class>__L2`` and ``__L3``;
``conftest.py`` swaps their HDF5 IO for ours. A failed fetch fails ``test_suite_loads``.
"""

from ._suites import layout_classes

try:
    globals().update(layout_classes("hdmf"))
    _LOAD_ERROR = None
except Exception as exc:  # reported by the test below, without hiding the rest of the session
    _LOAD_ERROR = exc


def test_suite_loads():
    """hdmf's common suite was fetched and holds its round-trip classes."""
    if _LOAD_ERROR is not None:
        raise _LOAD_ERROR
    assert "test_table__TestDynamicTableRoundTrip__L2" in globals()
    assert "test_multi__SimpleMultiContainerRoundTrip__L3" in globals()
