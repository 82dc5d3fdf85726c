"""Run the peers' test classes through our IO and apply the known differences.

For a test of a layout class (see ``_suites.layout_classes``) the autouse fixture changes into the
test's temporary directory (the peers write ``test_<type>.nwb`` into the working directory) and,
for the test's duration, replaces ``NWBHDF5IO``/``HDF5IO`` and the file helpers in the peers'
modules (see ``_swap``). The report hook turns the failure of a test listed in
``known_differences.toml`` into an xfail with its reason, and the pass of a listed test into a
failure asking to remove it from the list.
"""

from __future__ import annotations

import pytest

from . import _swap
from ._known import KNOWN_DIFFERENCES_FILE, load_known_differences
from ._suites import load_suite

_KNOWN = load_known_differences()


def _peer_class(item):
    cls = getattr(item, "cls", None)
    return cls if cls is not None and hasattr(cls, "_peer_layout") else None


@pytest.fixture(autouse=True)
def _peer_io(request, monkeypatch, tmp_path):
    cls = _peer_class(request.node)
    if cls is None:
        yield
        return
    monkeypatch.chdir(tmp_path)
    for module, name, replacement in _swap.swap_targets(load_suite(cls._peer_suite)):
        monkeypatch.setattr(module, name, replacement)
    _swap.current.update(layout=cls._peer_layout, tmp_path=tmp_path)
    try:
        yield
    finally:
        _swap.current.update(layout=None, tmp_path=None)


def known_difference(item):
    """The :class:`~._known.Difference` listed for ``item``, or None."""
    cls = _peer_class(item)
    if cls is None:
        return None
    return _KNOWN.get((cls._peer_suite, f"{cls._peer_id}::{item.name}", cls._peer_layout))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    diff = known_difference(item) if report.when == "call" else None
    if diff is None:
        return report
    where = (f"{KNOWN_DIFFERENCES_FILE.name} lists {diff.suite} {diff.test} "
             f"in L{diff.layout} ({diff.reason})")
    if report.passed:
        report.outcome = "failed"
        report.longrepr = f"{where}, but it passes now: remove it from the known differences"
    elif report.failed:
        if diff.match in report.longreprtext:
            report.outcome = "skipped"
            report.wasxfail = f"known difference: {diff.reason}"
        else:
            report.sections.append((
                "known difference does not match",
                f"{where}, expecting a failure containing {diff.match!r}; it failed otherwise"))
    return report
