"""Run the peer tests of one layout in a pytest subprocess while the main session goes on.

The main session keeps every peer test as an item of its own (so each one is reported, with the
known differences applied), but its body is replayed from a worker: one ``python -m pytest``
per layout, started when collection ends, running the same node ids with
``HDMF_ZARR_PEERS_RESULTS`` naming a JSON-lines file where the worker's conftest writes every
report. The peer suites are CPU-bound (pynwb validates every file it writes); the workers run
them beside the rest of the suite instead of after it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["RESULTS_ENV", "Worker", "record_report"]

RESULTS_ENV = "HDMF_ZARR_PEERS_RESULTS"
_POLL_S = 0.2


class PeerFailed(Exception):
    """A peer test failed in the worker; ``args[0]`` is the worker's failure report."""


def record_report(report) -> None:
    """Worker side: append one test report to the results file."""
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        text = str(report.longrepr[2])
    else:
        text = report.longreprtext
    entry = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
             "text": text, "subtest": type(report).__name__ == "SubtestReport"}
    with open(os.environ[RESULTS_ENV], "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Worker:
    """One pytest subprocess running ``nodeids`` from ``rootdir``; results read as they come."""

    def __init__(self, name: str, nodeids: list[str], rootdir: Path):
        self.name = name
        self._dir = Path(tempfile.mkdtemp(prefix=f"hdmf-zarr-peers-{name}-"))
        self.results_path = self._dir / "results.jsonl"
        self.results_path.touch()
        self.log_path = self._dir / "worker.log"
        args = self._dir / "nodeids.txt"
        args.write_text("\n".join(nodeids) + "\n")
        env = dict(os.environ, **{RESULTS_ENV: str(self.results_path)})
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--rootdir", str(rootdir), f"@{args}"]
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen(cmd, cwd=rootdir, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self._reports: dict[str, list[dict]] = {}
        self._offset = 0

    def _read_new(self) -> None:
        with open(self.results_path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line being written is read on the next poll
        self._offset += end
        for line in data[:end].splitlines():
            entry = json.loads(line)
            self._reports.setdefault(entry["nodeid"], []).append(entry)

    def _complete(self, nodeid: str) -> bool:
        return any(e["when"] == "teardown" and not e["subtest"]
                   for e in self._reports.get(nodeid, ()))

    def result(self, nodeid: str) -> tuple[str, str]:
        """Wait for ``nodeid`` and return ``(outcome, text)``: passed, skipped or failed."""
        while True:
            self._read_new()
            if self._complete(nodeid):
                break
            if self.proc.poll() is not None:
                self._read_new()
                if self._complete(nodeid):
                    break
                return "failed", (f"the peer worker {self.name} exited with code "
                                  f"{self.proc.returncode} without running {nodeid}; "
                                  f"its output ends:\n{self.log_tail()}")
            time.sleep(_POLL_S)
        reports = self._reports[nodeid]
        failed = [e for e in reports if e["outcome"] == "failed"]
        if failed:
            return "failed", "\n\n".join(f"[{e['when']}{' subtest' if e['subtest'] else ''}] "
                                         f"{e['text']}" for e in failed)
        skipped = [e for e in reports if e["outcome"] == "skipped" and not e["subtest"]]
        if skipped:
            return "skipped", skipped[0]["text"]
        return "passed", ""

    def log_tail(self, size: int = 4000) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return text[-size:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)
