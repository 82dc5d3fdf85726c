"""Run one read of a store in a child process whose address space is capped, so that a reader
that allocates without bound fails there (``MemoryError``) instead of swapping the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

#: Address space of the child (the interpreter, numpy, pynwb and hdmf take about 1 GiB).
ADDRESS_SPACE = 3 * 2**30

_CHILD = r"""
import json, resource, sys, warnings
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {here!r})
from _fuzz_worker import run_case
print("RESULT " + json.dumps(run_case({path!r}, {mode!r})))
"""


def bounded_read(path, mode: str = "r", timeout: float = 240, env: dict | None = None) -> dict:
    """Open, read and touch everything of ``path`` (``_fuzz_worker.run_case``) in a child with
    :data:`ADDRESS_SPACE` bytes of address space; the outcome dict (``outcome``: ``ok``,
    ``documented``, ``memory``, ``undocumented``...; ``cls`` and ``msg`` for errors)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = _CHILD.format(limit=ADDRESS_SPACE, here=here, path=str(path), mode=mode)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"outcome": "crash", "rc": proc.returncode, "stderr": proc.stderr[-2000:]}
