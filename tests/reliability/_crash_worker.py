"""Writer side of the crash-consistency harness (test_crash_consistency.py).

Run as a script, this module is a **fork server**: it imports pynwb and hdmf_zarr once, then
reads one JSON request per line on stdin (``{"scenario": ..., "store": ..., "path": ...,
"flags": ...}``) and forks a writer per request, answering with the writer's pid. The writer
puts itself in a new process group (so that the parent can SIGKILL it together with the
worker processes of a parallel write), creates ``<flags>/ready`` right before the write,
``<flags>/marked`` once the write-in-progress marker is set (the first key of the write),
``<flags>/written`` when ``write`` returns and ``<flags>/done`` after ``close()`` (each holding
the time, ``time.monotonic()``). Forking keeps each kill point cheap: no interpreter start,
no imports.

The module also holds what both sides need: the files written, the stores, and a snapshot of a
store's content as plain values.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import time
import warnings

import numpy as np
from hdmf.data_utils import GenericDataChunkIterator

HERE = os.path.dirname(os.path.abspath(__file__))

#: TimeSeries added to the base file, and by an append
EXTRA_SERIES = 12
APPENDED_SERIES = 10


class ArrayIterator(GenericDataChunkIterator):
    """A GenericDataChunkIterator over a deterministic int32 array (picklable: workers of a
    parallel write rebuild it from its state)."""

    def __init__(self, rows: int, cols: int, **kwargs):
        self.rows, self.cols = rows, cols
        super().__init__(**kwargs)

    def _get_data(self, selection):
        full = np.arange(self.rows * self.cols, dtype=np.int32).reshape(self.rows, self.cols)
        return full[selection]

    def _get_maxshape(self):
        return (self.rows, self.cols)

    def _get_dtype(self):
        return np.dtype(np.int32)


def make_file(parallel: bool = False):
    """The NWB file of a new write: the reliability test file, plus ``EXTRA_SERIES``
    TimeSeries (more nodes, more places to be killed), plus, for a parallel write, a
    TimeSeries whose data is an :class:`ArrayIterator`."""
    from _reliability_common import make_nwbfile
    from pynwb import TimeSeries

    nwb = make_nwbfile()
    for i in range(EXTRA_SERIES):
        nwb.add_acquisition(TimeSeries(name=f"extra{i}", unit="V", rate=100.0,
                                       data=np.linspace(0, i, 2000)))
    if parallel:
        data = ArrayIterator(40000, 8, buffer_shape=(5000, 8), chunk_shape=(2500, 8))
        nwb.add_acquisition(TimeSeries(name="big", unit="V", rate=1000.0, data=data))
    return nwb


def append_to(nwb) -> None:
    """What an append adds: ``APPENDED_SERIES`` TimeSeries, one linking existing timestamps
    data of the base file through its ``ts`` series."""
    from pynwb import TimeSeries

    for i in range(APPENDED_SERIES):
        nwb.add_acquisition(TimeSeries(name=f"appended{i}", unit="A", rate=10.0,
                                       data=np.arange(500, dtype=np.float32) * (i + 1)))
    nwb.add_acquisition(TimeSeries(name="appended_link", unit="A", rate=10.0,
                                   data=nwb.acquisition["ts"]))


def open_target(store: str, path: str, read_only: bool = False):
    """What to pass to NWBZarrIO for a store kind: a path (directory, SQLite) or a store."""
    if store == "h5nested":
        from hdmf_zarr.storage import H5NestedStore

        return H5NestedStore(path, read_only=read_only)
    return path


def write(scenario: str, store: str, path: str, flags: str | None = None) -> None:
    """Do the write of ``scenario`` (``w``, ``a``, ``r+``, ``parallel``) into ``path``."""
    from hdmf_zarr import NWBZarrIO

    def flag(name):
        if flags is not None:
            tmp = os.path.join(flags, f".{name}")
            with open(tmp, "w") as fh:
                fh.write(repr(time.monotonic()))  # system-wide clock: comparable across processes
            os.replace(tmp, os.path.join(flags, name))  # never seen empty

    import hdmf_zarr.io.write as backend  # (ZarrIO writes through hdmf_zarr.io.write)

    begin = backend.begin_write

    def begin_and_flag(store_, mode):  # test instrumentation: when the marker is set
        token = begin(store_, mode)
        if flags is not None and not os.path.exists(os.path.join(flags, "marked")):
            flag("marked")
        return token  # end_write removes only the marker holding this writer's token

    backend.begin_write = begin_and_flag
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if scenario in ("a", "r+"):
            with NWBZarrIO(open_target(store, path), mode=scenario) as io:
                nwb = io.read()
                append_to(nwb)
                flag("ready")
                io.write(nwb)
                flag("written")
        else:
            nwb = make_file(parallel=scenario == "parallel")
            kwargs = {"number_of_jobs": 2} if scenario == "parallel" else {}
            with NWBZarrIO(open_target(store, path), mode="w") as io:
                flag("ready")
                io.write(nwb, **kwargs)
                flag("written")
    flag("done")


# ------------------------------------------------------------------------------ snapshots
#: datasets whose value differs between two writes of the same file
VOLATILE = ("/file_create_date",)


def _plain(value):
    from hdmf.build import Builder

    if isinstance(value, Builder):
        names = []
        cur = value
        while cur.parent is not None:
            names.append(cur.name)
            cur = cur.parent
        return "ref:/" + "/".join(reversed(names))
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return ["array", value.dtype.str, list(value.shape), _plain(value.tolist())]
        return ["array", value.dtype.str, list(value.shape), value.tobytes().hex()]
    if isinstance(value, np.generic):
        return ["scalar", value.dtype.str, value.tobytes().hex()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    return value


def _read_data(data):
    shape = getattr(data, "shape", None)
    if shape is None:
        return data
    return data[()] if tuple(shape) == () else data[...]


def snapshot(target, mode: str = "r", ids: bool = True, only=None) -> dict:
    """Every group, dataset and link of a store as plain values: ``{path: value}``.

    Parameters
    ----------
    target : str or zarr store
    mode : str
        ``r`` (consolidated metadata) or ``r-`` (a listing walk; warns on an incomplete store).
    ids : bool
        Keep ``object_id`` attributes (False to compare two writes of equal content).
    only : set of str, optional
        Read the data of these datasets only (an interrupted append may have left a new
        dataset unreadable; the objects from before it are what is compared).
    """
    from hdmf_zarr import ZarrIO

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ZarrIO(target, mode=mode) as io:
            root = io.read_builder()

            def walk(group, path):
                attrs = {k: v for k, v in group.attributes.items() if ids or k != "object_id"}
                out[path or "/"] = ["group", _plain(attrs)]
                for name, sub in group.groups.items():
                    walk(sub, f"{path}/{name}")
                for name, ds in group.datasets.items():
                    p = f"{path}/{name}"
                    if p in VOLATILE or (only is not None and p not in only):
                        continue
                    attrs = {k: v for k, v in ds.attributes.items() if ids or k != "object_id"}
                    out[p] = ["dataset", _plain(attrs), _plain(_read_data(ds.data))]
                for name, link in group.links.items():
                    out[f"{path}/{name}"] = ["link", _plain(link.builder)]

            walk(root, "")
    return out


# ------------------------------------------------------------------------------ fork server
def _serve() -> None:
    sys.path.insert(0, HERE)
    # classes pickled for the workers of a parallel write must come from an importable module,
    # not from __main__
    import _crash_worker
    import _reliability_common  # noqa: F401
    import pynwb  # noqa: F401

    import hdmf_zarr  # noqa: F401  (imported once, before any fork)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # writers are reaped automatically
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setpgid(0, 0)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                sys.stdin.close()
                _crash_worker.write(request["scenario"], request["store"], request["path"],
                                    request["flags"])
                code = 0
            except BaseException as exc:  # reported through the missing "done" flag
                with open(os.path.join(request["flags"], "error"), "w") as fh:
                    fh.write(f"{type(exc).__name__}: {exc}")
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid, "at": datetime.datetime.now().isoformat()}), flush=True)


if __name__ == "__main__":
    _serve()
