"""pynwb's integration round trips through NWBZarrIO, in layouts L2 and L3.

The classes of ``tests/integration/hdf5`` of the installed pynwb's source distribution (fetched
with pip, see ``_fetch``) run here as ``<module>__<Class>__L2`` and ``__L3``; ``conftest.py``
swaps their HDF5 IO for ours. A failed fetch fails ``test_suite_loads``.
"""

from ._suites import layout_classes

try:
    globals().update(layout_classes("pynwb"))
    _LOAD_ERROR = None
except Exception as exc:  # reported by the test below, without hiding the rest of the session
    _LOAD_ERROR = exc


def test_suite_loads():
    """pynwb's integration suite was fetched and holds its round-trip classes."""
    if _LOAD_ERROR is not None:
        raise _LOAD_ERROR
    assert "test_ecephys__TestElectrodeGroupIO__L2" in globals()
    assert "test_nwbfile__TestSubjectIO__L3" in globals()
