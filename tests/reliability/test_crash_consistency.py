"""Crash consistency: writes killed with SIGKILL at random points (issue 6, docs/reliability.md).

A fork server (``_crash_worker.py``) forks one writer per kill point; the writer signals when
its write starts, the test waits a random delay within the measured length of a whole write
(a little beyond it, so that some kills land after the end) and kills the writer's process
group (the writer and the worker processes of a parallel write). Then:

* opening the store in mode ``r`` either raises :class:`~hdmf_zarr.errors.IncompleteWriteError`
  (the write-in-progress marker is there), or reads a store equal to the complete write (or, for
  an append killed before its first key, to the store before the append); for a new file,
  a kill before the first key may also leave no store at all (``NotHdmfStoreError``). Nothing
  else: never part of a write presented as complete;
* a kill after the writer finished always reads the complete store;
* in an append, every object written before the append reads back bit-identical (attributes,
  data and links, compared with a snapshot taken before), whatever the outcome.

Scenarios: a new file (``w``), an append in mode ``a`` and in mode ``r+`` (which also rewrite
the consolidated root document) and a parallel write (``w`` with ``number_of_jobs=2``), each on
a directory, a ``SQLiteStore`` and an ``H5NestedStore``.

``HDMF_ZARR_CRASH_POINTS`` sets the kill points per store and scenario (default 6, 72 in all
plus 12 complete runs; e.g. 40 by hand), ``HDMF_ZARR_CRASH_SEED`` the random seed (printed on
failure), ``HDMF_ZARR_CRASH_REPORT`` a JSON-lines file receiving every kill point's outcome.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hdmf_zarr.errors import IncompleteWriteError, NotHdmfStoreError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _crash_worker as cw  # noqa: E402

POINTS = int(os.environ.get("HDMF_ZARR_CRASH_POINTS", "6"))
SEED = int(os.environ.get("HDMF_ZARR_CRASH_SEED", str(random.SystemRandom().randrange(2**31))))
REPORT = os.environ.get("HDMF_ZARR_CRASH_REPORT")
STORES = ("dir", "sqlite", "h5nested")
SCENARIOS = ("w", "a", "r+", "parallel")
APPENDS = ("a", "r+")
#: kills are spread over [0, OVERSHOOT x the length of a whole write] after the write starts
OVERSHOOT = 1.15
START_TIMEOUT = 120.0


class ForkServer:
    """The ``_crash_worker.py`` process: forks one writer per request."""

    def __init__(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(HERE)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_crash_worker.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        assert json.loads(line) == {"ready": True}, line

    def fork(self, scenario: str, store: str, path: str, flags: Path) -> int:
        flags.mkdir(parents=True, exist_ok=True)
        request = {"scenario": scenario, "store": store, "path": path, "flags": str(flags)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server died"
        return json.loads(line)["pid"]

    def close(self):
        try:
            self.proc.stdin.close()
        finally:
            self.proc.kill()
            self.proc.wait(timeout=30)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled group of another user
        return False
    return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while _group_alive(pgid):
        assert time.monotonic() < deadline, f"process group {pgid} survived SIGKILL"
        time.sleep(0.005)


def _wait_started(flags: Path, pgid: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not (flags / "ready").exists():
        if (flags / "error").exists():
            pytest.fail(f"writer failed before its write: {(flags / 'error').read_text()}")
        try:
            os.kill(pgid, 0)  # the writer (its group may not exist yet)
        except ProcessLookupError:
            pytest.fail("writer died before its write started")
        assert time.monotonic() < deadline, "writer did not start"
        time.sleep(0.002)


def _wait_flag(flags: Path, name: str, pgid: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not (flags / name).exists():
        if (flags / "error").exists():
            pytest.fail(f"writer failed: {(flags / 'error').read_text()}")
        try:
            os.kill(pgid, 0)
        except ProcessLookupError:
            pytest.fail(f"writer died before {name!r}")
        assert time.monotonic() < deadline, f"writer did not reach {name!r}"
        time.sleep(0.001)


def _wait_done(flags: Path, pgid: int) -> float:
    """Wait for a complete write; return the time from its start to the end of ``close``
    (which, after an append, writes the consolidated metadata once more)."""
    start = time.monotonic()
    while not (flags / "done").exists():
        if (flags / "error").exists():
            pytest.fail(f"complete write failed: {(flags / 'error').read_text()}")
        assert time.monotonic() - start < START_TIMEOUT, "complete write took too long"
        time.sleep(0.002)
    _kill_group(pgid)  # nothing left running (pool workers shutting down)
    return float((flags / "done").read_text()) - float((flags / "ready").read_text())


def _store_path(base: Path, store: str) -> str:
    return str(base / {"dir": "f.nwb.zarr", "sqlite": "f.sqlite", "h5nested": "f.h5n.zarr"}[store])


def _copy(src: str, dst: str) -> None:
    if os.path.isdir(src):
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def server():
    srv = ForkServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def base_files(tmp_path_factory):
    """Per store kind: the file appended to, and its snapshot (object ids included)."""
    out = {}
    for store in STORES:
        path = _store_path(tmp_path_factory.mktemp(f"base-{store}"), store)
        cw.write("w", store, path)
        out[store] = (path, cw.snapshot(cw.open_target(store, path, True), "r"))
    return out


def _outcome(store: str, path: str, expected: dict, unchanged: dict | None) -> str:
    """Open the store after a kill and classify it (see the module docstring)."""
    target = cw.open_target(store, path, read_only=True)
    try:
        snap = cw.snapshot(target, "r", ids=False)
    except IncompleteWriteError as exc:
        assert path in str(exc) or "<store>" in str(exc), exc
        return "incomplete"
    except NotHdmfStoreError:
        return "no store"
    if snap == expected:
        return "complete"
    if unchanged is not None and snap == unchanged:
        return "unchanged"
    missing = sorted(set(expected) - set(snap))[:5]
    differ = sorted(k for k in set(expected) & set(snap) if expected[k] != snap[k])[:5]
    pytest.fail(f"{path}: opened without error but holds part of the write (seed {SEED}); "
                f"missing {missing}, different {differ}")


def _check_base_kept(store: str, path: str, base: dict) -> int:
    """Every object of the base file reads back bit-identical; returns how many."""
    now = cw.snapshot(cw.open_target(store, path, read_only=True), "r-", ids=True,
                      only=set(base))
    lost = sorted(k for k in base if k not in now)
    changed = sorted(k for k in base if k in now and now[k] != base[k])
    assert not lost and not changed, \
        f"{path}: objects written before the append lost {lost[:5]} or changed {changed[:5]}"
    return len(base)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("store", STORES)
def test_kill_at_random_points(server, base_files, tmp_path, store, scenario):
    rng = random.Random(f"{SEED}-{store}-{scenario}")
    base_path, base_snap = base_files[store]
    base_noids = cw.snapshot(cw.open_target(store, base_path, True), "r", ids=False) \
        if scenario in APPENDS else None

    def prepare(name: str) -> tuple[str, Path]:
        case = tmp_path / name
        case.mkdir()
        path = _store_path(case, store)
        if scenario in APPENDS:
            _copy(base_path, path)
        return path, case / "flags"

    # one complete write: its length spreads the kill points, its content is the reference
    path, flags = prepare("complete")
    pgid = server.fork(scenario, store, path, flags)
    _wait_started(flags, pgid)
    _wait_done(flags, pgid)
    times = {name: float((flags / name).read_text()) for name in ("ready", "marked", "done")}
    expected = cw.snapshot(cw.open_target(store, path, True), "r", ids=False)
    assert len(expected) > (len(base_snap) if scenario in APPENDS else 40)
    if scenario in APPENDS:
        assert expected != base_noids
        _check_base_kept(store, path, base_snap)

    outcomes: dict[str, int] = {}
    for point in range(POINTS):
        path, flags = prepare(f"kill{point}")
        pgid = server.fork(scenario, store, path, flags)
        _wait_started(flags, pgid)
        # most kills fall between the first key of the write and the end of close(), a few
        # from the start of io.write (building the containers, before the first key)
        start = "ready" if point % 5 == 4 else "marked"
        _wait_flag(flags, start, pgid)
        delay = rng.uniform(0, OVERSHOOT * (times["done"] - times[start]))
        at = float((flags / start).read_text()) + delay
        time.sleep(max(0.0, at - time.monotonic()))
        _kill_group(pgid)
        done = (flags / "done").exists()
        outcome = _outcome(store, path, expected, base_noids)
        if done:
            assert outcome == "complete", f"{path}: a finished write reads as {outcome}"
        if outcome == "no store":
            assert scenario not in APPENDS, f"{path}: the append destroyed the store"
        if start == "marked":
            assert outcome in ("incomplete", "complete"), \
                f"{path}: killed after the marker was set, reads as {outcome}"
        kept = _check_base_kept(store, path, base_snap) if scenario in APPENDS else 0
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if REPORT:
            with open(REPORT, "a") as fh:
                fh.write(json.dumps({"store": store, "scenario": scenario, "seed": SEED,
                                     "from": start, "delay": round(delay, 4),
                                     "write": round(times["done"] - times["marked"], 4),
                                     "done": done, "outcome": outcome,
                                     "base_objects_checked": kept}) + "\n")
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
    print(f"{store}/{scenario}: {POINTS} kill points, write "
          f"{times['done'] - times['marked']:.2f} s: {outcomes}")
