"""Run the peers' test classes through our IO and apply the known differences.

Each peer test (a method of a layout class, see ``_suites.layout_classes``) is an item of the
session. By default its body runs in a worker subprocess, one per layout, started when
collection ends (``_worker``); the item waits for and reports the worker's result, and peer
items run last so the workers overlap the rest of the suite. With ``HDMF_ZARR_PEERS_INLINE=1``
(and inside a worker) the bodies run in this process instead.

Where a body runs, the autouse fixture changes into the test's temporary directory (the peers
write ``test_<type>.nwb`` into the working directory) and, for the test's duration, replaces
``NWBHDF5IO``/``HDF5IO`` and the file helpers in the peers' modules (see ``_swap``). The report
hook turns the failure of a test listed in ``known_differences.toml`` into an xfail with its
reason, and the pass of a listed test into a failure asking to remove it from the list.
"""

from __future__ import annotations

import os

import pytest

from . import _swap
from ._known import KNOWN_DIFFERENCES_FILE, load_known_differences
from ._suites import load_suite
from ._worker import RESULTS_ENV, PeerFailed, Worker, record_report

_KNOWN = load_known_differences()
_IN_WORKER = bool(os.environ.get(RESULTS_ENV))
_INLINE = _IN_WORKER or os.environ.get("HDMF_ZARR_PEERS_INLINE", "") not in ("", "0")
_WORKER_KEY = pytest.StashKey[Worker]()
_WORKERS = pytest.StashKey[list]()


def _peer_class(item):
    cls = getattr(item, "cls", None)
    return cls if cls is not None and hasattr(cls, "_peer_layout") else None


def pytest_collection_modifyitems(session, config, items):
    if _INLINE:
        return
    peers = [item for item in items if _peer_class(item) is not None]
    if not peers:
        return
    workers = []
    for layout in sorted({_peer_class(item)._peer_layout for item in peers}):
        mine = [item for item in peers if _peer_class(item)._peer_layout == layout]
        worker = Worker(f"L{layout}", [item.nodeid for item in mine], config.rootpath)
        workers.append(worker)
        for item in mine:
            item.stash[_WORKER_KEY] = worker
            item.runtest = _replay.__get__(item)
    config.stash[_WORKERS] = workers
    # peer items last: while the main process runs the rest, the workers run the peers
    others = [item for item in items if _peer_class(item) is None]
    items[:] = others + peers


def _replay(item):
    outcome, text = item.stash[_WORKER_KEY].result(item.nodeid)
    if outcome == "skipped":
        pytest.skip(text)
    if outcome == "failed":
        raise PeerFailed(text)


def pytest_unconfigure(config):
    for worker in config.stash.get(_WORKERS, []):
        worker.stop()


def pytest_runtest_logreport(report):
    if _IN_WORKER:
        record_report(report)


@pytest.fixture(autouse=True)
def _peer_io(request, monkeypatch, tmp_path):
    cls = _peer_class(request.node)
    if cls is None or not _INLINE:
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
    if report.when == "call" and call.excinfo is not None and \
            isinstance(call.excinfo.value, PeerFailed):
        report.longrepr = f"(run in a peer worker subprocess)\n{call.excinfo.value.args[0]}"
    diff = known_difference(item) if report.when == "call" and not _IN_WORKER else None
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
