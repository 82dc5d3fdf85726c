"""Metadata-heavy workloads: hdmf_zarr (L2, L3) against pynwb's NWBHDF5IO in the same run.

Run by hand (never by the test suite):

    python benchmarks/bench_metadata.py [--repeat 3] [--out /tmp/bench] [--only write_many,...]

Workloads (issue "Speed on metadata-heavy files"):
- write_many: one NWBFile with 1000 TimeSeries (1000 float64 samples each) in a processing module,
  plus a DynamicTable of 20 columns x 5000 rows with a string column and a ragged column.
- open_many: open that file and read(); then data[:10] of every TimeSeries; then to_dataframe().
- read_refs: 384 electrodes in 8 groups; Units with 2000 units, 0.5 M spike times, an electrodes
  region (4-8 per unit) and electrode_group references; read(), units/electrodes to_dataframe().
- export: an HDF5 file of ~200 MB ephys plus the write_many objects, exported to Zarr.

Prints one table: seconds per backend (best of --repeat) and the ratio to HDF5.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import time
import warnings
from datetime import UTC, datetime

import numpy as np

warnings.simplefilter("ignore")

from hdmf.common import DynamicTable, VectorData  # noqa: E402
from pynwb import NWBHDF5IO, NWBFile, ProcessingModule, TimeSeries  # noqa: E402
from pynwb.ecephys import ElectricalSeries  # noqa: E402

from hdmf_zarr import NWBZarrIO  # noqa: E402

BACKENDS = ("hdf5", "L3", "L2")


def _nwbfile(identifier: str) -> NWBFile:
    return NWBFile(session_description="bench", identifier=identifier,
                   session_start_time=datetime(2024, 1, 1, tzinfo=UTC))


def build_many(nwb: NWBFile, n_series=1000, n_rows=5000, n_cols=20) -> None:
    """The write_many objects, added to ``nwb``."""
    rng = np.random.default_rng(0)
    mod = ProcessingModule(name="many", description="many series")
    nwb.add_processing_module(mod)
    for i in range(n_series):
        mod.add(TimeSeries(name=f"ts{i:04d}", data=rng.random(1000), rate=1000.0, unit="V"))
    columns = [VectorData(name=f"c{j:02d}", description="col", data=rng.random(n_rows))
               for j in range(n_cols - 3)]
    columns.append(VectorData(name="label", description="text",
                              data=[f"row {i}" for i in range(n_rows)]))
    table = DynamicTable(name="table", description="wide table", columns=columns)
    lengths = rng.integers(0, 5, n_rows)
    ragged = rng.random(int(lengths.sum()))
    table.add_column(name="ragged", description="ragged",
                     data=np.split(ragged, np.cumsum(lengths)[:-1]),
                     index=True)
    mod.add(table)


def build_refs(nwb: NWBFile, n_electrodes=384, n_groups=8, n_units=2000, n_spikes=500_000):
    rng = np.random.default_rng(1)
    device = nwb.create_device(name="probe")
    groups = [nwb.create_electrode_group(name=f"shank{g}", description="s", location="CA1",
                                         device=device) for g in range(n_groups)]
    for e in range(n_electrodes):
        nwb.add_electrode(group=groups[e % n_groups], location="CA1")
    per_unit = np.diff(np.sort(rng.integers(0, n_spikes, n_units - 1)), prepend=0,
                       append=n_spikes)
    spikes = np.sort(rng.random(n_spikes) * 3600.0)
    start = 0
    for u in range(n_units):
        count = int(per_unit[u]) if u < len(per_unit) else 0
        k = int(rng.integers(4, 9))
        first = int(rng.integers(0, n_electrodes - k))
        nwb.add_unit(spike_times=spikes[start:start + count],
                     electrodes=list(range(first, first + k)),
                     electrode_group=groups[first % n_groups])
        start += count


def _open(backend, path, mode):
    if backend == "hdf5":
        return NWBHDF5IO(path, mode)
    return NWBZarrIO(path, mode, zarr_format=int(backend[1]) if mode == "w" else None)


def _path(out, backend, stem):
    return os.path.join(out, f"{stem}.{'nwb' if backend == 'hdf5' else backend + '.nwb.zarr'}")


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def _clear(*paths):
    """Untimed set-up of a write: remove the previous output and flush the file system, so that
    no run pays for the deletions of the one before (a directory store is 5111 files)."""
    for path in paths:
        _remove(path)
    os.sync()


def _timed_writes(write, path, repeat):
    """Best time of ``write(target)`` over ``repeat`` runs, each into a new path; the last
    output ends at ``path``.

    Each run writes to a path never used before: on a file system mounted with ``discard``
    (this project's machines), creating thousands of files where a just-deleted tree was costs
    several times more with every cycle (5000 small files: 0.5 s, then 0.8, 1.5, 2.1 s), which
    says nothing about the writer and would not touch HDF5's single file."""
    best = float("inf")
    for i in range(repeat):
        target = f"{path}.run{i}"
        _clear(target, target + ".sqlite")
        gc.collect()
        t0 = time.perf_counter()
        write(target)
        best = min(best, time.perf_counter() - t0)
        for suffix in ("", ".sqlite"):
            if os.path.exists(target + suffix):
                _remove(path + suffix)
                os.replace(target + suffix, path + suffix)
    return best


def _timed(fn, repeat):
    """Best wall time of ``fn`` over ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_write_many(out, repeat):
    res = {}
    for b in BACKENDS:
        path = _path(out, b, "many")

        def run(target):
            nwb = _nwbfile("many")
            build_many(nwb)
            with _open(b, target, "w") as io:
                io.write(nwb)
        res[b] = _timed_writes(run, path, repeat)
    return res


def bench_open_many(out, repeat):
    res = {}
    for b in BACKENDS:
        path = _path(out, b, "many")

        def run():
            with _open(b, path, "r") as io:
                f = io.read()
                mod = f.processing["many"]
                for name, obj in mod.data_interfaces.items():
                    if isinstance(obj, TimeSeries):
                        obj.data[:10]
                mod["table"].to_dataframe()
        res[b] = _timed(run, repeat)

        def run_open():
            with _open(b, path, "r") as io:
                io.read()
        res[b + " open+read"] = _timed(run_open, repeat)
    return res


def bench_read_refs(out, repeat):
    res = {}
    for b in BACKENDS:
        path = _path(out, b, "refs")
        _remove(path)
        nwb = _nwbfile("refs")
        build_refs(nwb)
        with _open(b, path, "w") as io:
            io.write(nwb)

        def run_read():
            with _open(b, path, "r") as io:
                io.read()

        def run_units():
            with _open(b, path, "r") as io:
                io.read().units.to_dataframe()

        def run_electrodes():
            with _open(b, path, "r") as io:
                io.read().electrodes.to_dataframe()
        res[b + " read"] = _timed(run_read, repeat)
        res[b + " units"] = _timed(run_units, repeat) - res[b + " read"]
        res[b + " electrodes"] = _timed(run_electrodes, repeat) - res[b + " read"]
    return res


def bench_export(out, repeat):
    src = os.path.join(out, "export_src.nwb")
    if not os.path.exists(src):
        nwb = _nwbfile("export")
        build_many(nwb)
        n = 200 * 2**20 // (2 * 64)
        data = (np.arange(n * 64, dtype=np.int64) % 2000).astype(np.int16).reshape(n, 64)
        device = nwb.create_device(name="probe")
        group = nwb.create_electrode_group(name="g", description="g", location="x", device=device)
        for _ in range(64):
            nwb.add_electrode(group=group, location="x")
        region = nwb.create_electrode_table_region(list(range(64)), "all")
        from hdmf.backends.hdf5 import H5DataIO

        nwb.add_acquisition(ElectricalSeries(name="es", data=H5DataIO(data, chunks=(16384, 64)),
                                             electrodes=region, rate=30000.0))
        with NWBHDF5IO(src, "w") as io:
            io.write(nwb)
    res = {}
    for b in BACKENDS:
        dst = _path(out, b, "export")

        def run(target):
            with NWBHDF5IO(src, "r") as s, _open(b, target, "w") as d:
                d.export(src_io=s, write_args={"link_data": False})
        res[b] = _timed_writes(run, dst, repeat)
        if b != "hdf5":
            res[b + " peak-MB"] = _peak_rss_mb(src, dst, int(b[1]))
    for fmt in (2, 3):
        dst = os.path.join(out, f"plain_copy{fmt}.zarr")

        res[f"zarr-copy-L{fmt}"] = _timed_writes(
            lambda target, fmt=fmt: _plain_zarr_copy(src, target, fmt), dst, repeat)
    return res


def _plain_zarr_copy(src: str, dst: str, zarr_format: int) -> None:
    """The baseline of the export target: every HDF5 dataset copied chunk by chunk into a
    Zarr array with the same chunks (plain zarr, no HDMF)."""
    import h5py
    import zarr

    root = zarr.open_group(dst, mode="w", zarr_format=zarr_format)

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset) or obj.dtype.kind not in "biuf" or not obj.shape:
            return
        arr = root.create_array(name, shape=obj.shape, dtype=obj.dtype,
                                chunks=obj.chunks or "auto")
        step = max(arr.chunks[0], (64 * 2**20 // max(1, obj.dtype.itemsize *
                                                      int(np.prod(obj.shape[1:])))))
        step = (step // arr.chunks[0]) * arr.chunks[0] or arr.chunks[0]
        for start in range(0, obj.shape[0], step):
            arr[start:start + step] = obj[start:start + step]
    with h5py.File(src, "r") as f:
        f.visititems(visit)


def _peak_rss_mb(src: str, dst: str, zarr_format: int) -> float:
    """Peak resident memory (MB) of an export run in a child process."""
    import subprocess
    import sys

    # ru_maxrss is not used: Linux keeps the high-water mark of the forked parent across exec,
    # so the child would report the benchmark process's own peak. A thread samples the child's
    # resident size instead.
    code = (
        "import shutil, threading, time, warnings; warnings.simplefilter('ignore')\n"
        "from pynwb import NWBHDF5IO\nfrom hdmf_zarr import NWBZarrIO\n"
        "peak = [0]\n"
        "def sample():\n"
        "    while True:\n"
        "        rss = int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
        "        peak[0] = max(peak[0], rss); time.sleep(0.005)\n"
        "threading.Thread(target=sample, daemon=True).start()\n"
        f"shutil.rmtree({dst!r}, ignore_errors=True)\n"
        f"with NWBHDF5IO({src!r}, 'r') as s, NWBZarrIO({dst!r}, 'w', zarr_format={zarr_format})"
        " as d:\n    d.export(src_io=s, write_args={'link_data': False})\n"
        "time.sleep(0.02)\nprint(peak[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_stores(out, repeat):
    """write_many and open+read on a directory, SQLiteStore and H5NestedStore (L3), with the
    number of files each leaves on disk."""
    from hdmf_zarr.storage import H5NestedStore, SQLiteStore

    makers = {
        "dir": lambda p: p,
        "sqlite": lambda p: SQLiteStore(p + ".sqlite"),
        "h5nested": lambda p: H5NestedStore(p, consolidate_depth=0),
    }
    res = {}
    for name, make in makers.items():
        path = os.path.join(out, f"stores_{name}.nwb.zarr")

        def write(target):
            nwb = _nwbfile("stores")
            build_many(nwb)
            with NWBZarrIO(make(target), "w") as io:
                io.write(nwb)

        def read():
            with NWBZarrIO(make(path), "r") as io:
                io.read()
        res[f"{name} write"] = _timed_writes(write, path, repeat)
        res[f"{name} open+read"] = _timed(read, repeat)
        target = path + ".sqlite" if name == "sqlite" else path
        res[f"{name} files"] = 1 if os.path.isfile(target) else sum(
            len(files) for _r, _d, files in os.walk(target))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="/tmp/hdmf_zarr_bench")
    ap.add_argument("--only", default="write_many,open_many,read_refs,export,stores")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in args.only.split(","):
        res = globals()[f"bench_{name}"](args.out, args.repeat)
        for key, value in res.items():
            backend, _, what = key.partition(" ")
            if name == "stores":
                store, _, what = key.partition(" ")
                ref = res.get(f"dir {what}")
                rows.append((f"stores ({what})", store, value,
                             float("nan") if what == "files" else value / ref, ""))
                continue
            if what == "peak-MB":
                rows.append((f"{name} (peak RSS, MB)", backend, value, float("nan"), ""))
                continue
            ref = res.get(("hdf5 " + what).strip())
            extra = ""
            if name == "export" and backend in ("L2", "L3"):
                plain = res.get(f"zarr-copy-{backend}")
                extra = f"{value / plain:8.2f}" if plain else ""
            rows.append((name + (f" ({what})" if what else ""), backend, value,
                         value / ref if ref else float("nan"), extra))
    print(f"{'workload':32s} {'backend':12s} {'value':>9s} {'x ref':>8s} {'x zarr copy':>11s}")
    print("(x ref: against HDF5; for 'stores' rows against the directory store)")
    for name, backend, secs, ratio, extra in rows:
        print(f"{name:32s} {backend:12s} {secs:9.3f} {ratio:8.2f} {extra:>11s}")


if __name__ == "__main__":
    main()
