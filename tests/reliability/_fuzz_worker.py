"""Worker process of the metadata fuzzer: reads mutated stores under resource limits.

Protocol: one JSON object per line on stdin (``{"path": ..., "modes": [...], "timeout": s}``),
one JSON object per line on stdout with the outcome of each mode. The process caps its address
space (``RLIMIT_AS``) so that a forged shape or count that makes the reader allocate gigabytes
fails with ``MemoryError`` here instead of exhausting the machine; a ``SIGALRM`` bounds every
case. The parent restarts the worker when it dies (an interpreter crash is then visible as EOF).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import traceback
import warnings

ADDRESS_SPACE_LIMIT = int(os.environ.get("HDMF_ZARR_FUZZ_AS_LIMIT", str(3 * 2**30)))


class CaseTimeout(BaseException):
    """Raised by the alarm handler; a BaseException so that no ``except Exception`` eats it."""


def _alarm(_signum, _frame):
    raise CaseTimeout()


def run_case(path: str, mode: str) -> dict:
    """Open, read and touch everything of the store at ``path`` in ``mode``."""
    from _reliability_common import touch_everything

    from hdmf_zarr import NWBZarrIO
    from hdmf_zarr.errors import HdmfZarrError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBZarrIO(path, mode) as io:
                nwbfile = io.read()
                touch_everything(nwbfile)
        return {"outcome": "ok"}
    except CaseTimeout:
        return {"outcome": "timeout"}
    except MemoryError:
        return {"outcome": "memory", "tb": traceback.format_exc(limit=-8)}
    except HdmfZarrError as exc:
        named = bool(exc.path) and str(exc.path) in str(exc)
        return {"outcome": "documented" if named else "unnamed", "cls": type(exc).__name__,
                "msg": str(exc)[:500], "tb": "" if named else traceback.format_exc(limit=-8)}
    except Exception as exc:  # what the fuzzer looks for
        return {"outcome": "undocumented", "cls": f"{type(exc).__module__}.{type(exc).__name__}",
                "msg": str(exc)[:500], "tb": traceback.format_exc(limit=-12)}


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    signal.signal(signal.SIGALRM, _alarm)
    # import everything once, outside the per-case alarm
    import pynwb  # noqa: F401

    import hdmf_zarr  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        results = []
        for mode in request["modes"]:
            signal.alarm(int(request.get("timeout", 20)))
            try:
                result = run_case(request["path"], mode)
            except CaseTimeout:
                result = {"outcome": "timeout"}
            finally:
                signal.alarm(0)
            result["mode"] = mode
            results.append(result)
        print(json.dumps(results), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
