"""Large-data benchmark: hdmf_zarr against plain Zarr on the same array (docs/large-data.md).

Workload: an ElectricalSeries of int16, 1,320,000 x 384 (about 1 GB), chunks (30000, 64), Blosc
zstd level 5 with byte shuffle, fed by a ``GenericDataChunkIterator`` with buffers of
(120000, 384) (92 MB) that repeats a 60000-row template read from a ``.npy`` file (so that the
worker processes of ``number_of_jobs=2`` load the source rather than generate it). The same
buffers are written with plain ``zarr`` (same chunks, shards, codecs and format,
``write_empty_chunks=True`` as hdmf_zarr writes), then read back three ways: the whole array, a
1 s window (30000 rows x 384) and one channel for the whole duration.

Every measurement runs in a fresh child process, so that peak memory (Linux's ``VmHWM``, reset
when the write starts, and a thread sampling ``/proc/self/statm`` every 5 ms) is the write's
own: the table reports the increase over the child's resident memory just before the write,
with the data source already built. Layouts: L3 with the default shard policy (here shards of
one buffer, 11 objects; the ``--small`` array has 36 chunks and is not sharded), L3 without
shards, and L2.

Usage::

    python benchmarks/bench_large.py            # the 1 GB workload (several minutes)
    python benchmarks/bench_large.py --small    # 180,000 rows, 46 MB buffers (about a minute)
    python benchmarks/bench_large.py --layouts L3 --repeat 3 --tmp /path/on/a/fast/disk

Targets on a 2-core machine: serial write <= 1.05 x plain zarr; full read <= 1.05 x plain
zarr; ``number_of_jobs=2`` >= 1.6 x faster than serial; peak memory of a serial write <=
2 x buffer + 150 MB; L3 with shards <= 50 stored objects.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC

import numpy as np
from hdmf.data_utils import GenericDataChunkIterator

N_CHANNELS = 384
CHUNKS = (30000, 64)
RATE = 30000.0
TEMPLATE_ROWS = 60000


def make_template(path: str, seed: int = 0) -> None:
    """Write the int16 template the recordings repeat (noise with slow drifts) to ``path``."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 3, size=(TEMPLATE_ROWS, N_CHANNELS)), axis=0)
    walk -= np.linspace(walk[0], walk[-1], TEMPLATE_ROWS)
    noise = rng.normal(0, 10, size=(TEMPLATE_ROWS, N_CHANNELS))
    np.save(path, (walk + noise).astype(np.int16))


class SyntheticRecording(GenericDataChunkIterator):
    """int16 noise with slow drifts, read per region from a template file made once by the
    parent (:func:`make_template`; no array of the full size in memory, and worker processes
    load the file rather than generate the noise again); picklable through
    ``_to_dict``/``_from_dict``."""

    def __init__(self, n_rows: int, template_path: str, **kwargs):
        self.n_rows = int(n_rows)
        self.template_path = str(template_path)
        self._template = None
        self._init_kwargs = dict(kwargs)
        super().__init__(**kwargs)

    def template(self) -> np.ndarray:
        if self._template is None:
            self._template = np.load(self.template_path)
        return self._template

    def _get_data(self, selection):
        rows, cols = selection
        start, stop = rows.start or 0, rows.stop if rows.stop is not None else self.n_rows
        idx = np.arange(start, stop) % TEMPLATE_ROWS
        return self.template()[idx][:, cols]

    def _get_maxshape(self):
        return (self.n_rows, N_CHANNELS)

    def _get_dtype(self):
        return np.dtype("int16")

    def _to_dict(self):
        kwargs = {k: v for k, v in self._init_kwargs.items()
                  if k not in ("display_progress", "progress_bar_class")}
        return {"n_rows": self.n_rows, "template_path": self.template_path, "kwargs": kwargs}

    @staticmethod
    def _from_dict(state):
        return SyntheticRecording(state["n_rows"], state["template_path"], **state["kwargs"])


# ------------------------------------------------------------------------- child side
class PeakRSS:
    """Peak resident set size of this process while the block runs.

    Linux's high-water mark (``VmHWM``) is reset on entry (``/proc/self/clear_refs``), so the
    peak is that of the block, not of what the process did before (building the data source);
    a thread also samples ``/proc/self/statm`` every 5 ms, in case the reset is not allowed.
    """

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.current()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._hwm_reset = False

    def current(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    @staticmethod
    def high_water_mark() -> int | None:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset VmHWM to the current RSS
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())
        hwm = self.high_water_mark() if self._hwm_reset else None
        if hwm is not None:
            self.peak = max(self.peak, hwm)


def _codec(fmt: int):
    if fmt == 2:
        import numcodecs

        return numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=5, shuffle="shuffle", typesize=2)


def _iterator(cfg) -> SyntheticRecording:
    it = SyntheticRecording(cfg["rows"], cfg["template"], buffer_shape=tuple(cfg["buffer"]),
                            chunk_shape=CHUNKS, display_progress=False)
    it.template()
    return it


def _nwbfile(cfg, it):
    from datetime import datetime

    from pynwb import NWBFile
    from pynwb.ecephys import ElectricalSeries

    from hdmf_zarr import ZarrDataIO

    nwb = NWBFile(session_description="bench", identifier="bench-large",
                  session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group(name="shank", description="d", location="x", device=device)
    for _ in range(N_CHANNELS):
        nwb.add_electrode(group=group, location="x")
    region = nwb.create_electrode_table_region(list(range(N_CHANNELS)), "all")
    shards = None if cfg["shards"] == "default" else False
    data = ZarrDataIO(it, chunks=CHUNKS, compressor=_codec(cfg["fmt"]), shards=shards)
    nwb.add_acquisition(ElectricalSeries(name="es", data=data, electrodes=region, rate=RATE))
    return nwb


def task_write(cfg) -> dict:
    import zarr

    it = _iterator(cfg)
    path = cfg["path"]
    shutil.rmtree(path, ignore_errors=True)
    if cfg["who"] == "zarr":
        shards = tuple(cfg["plain_shards"]) if cfg["plain_shards"] else None
        before = PeakRSS().current()
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            arr = zarr.create_array(zarr.storage.LocalStore(path), shape=it.maxshape,
                                    dtype="int16", chunks=CHUNKS, shards=shards,
                                    compressors=_codec(cfg["fmt"]), zarr_format=cfg["fmt"],
                                    config={"write_empty_chunks": True})
            for chunk in it:
                arr[chunk.selection] = chunk.data
            seconds = time.perf_counter() - t0
        array_dir = path
    else:
        from hdmf_zarr import NWBZarrIO

        nwb = _nwbfile(cfg, it)
        before = PeakRSS().current()
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            with NWBZarrIO(path, "w", zarr_format=cfg["fmt"]) as io:
                io.write(nwb, number_of_jobs=cfg["jobs"])
            seconds = time.perf_counter() - t0
        array_dir = os.path.join(path, "acquisition", "es", "data")
    arr = zarr.open_array(array_dir, mode="r")
    objects = sum(len([f for f in files if f not in ("zarr.json", ".zarray", ".zattrs")])
                  for _d, _s, files in os.walk(array_dir))
    return {"seconds": seconds, "peak_delta": rss.peak - before, "objects": objects,
            "shards": list(arr.shards) if getattr(arr, "shards", None) else None,
            "stored": sum(os.path.getsize(os.path.join(d, f))
                          for d, _s, fs in os.walk(array_dir) for f in fs)}


def task_read(cfg) -> dict:
    """Open and slice: ``full``, ``window`` (first 1 s), ``channel`` (channel 17, all rows)."""
    import zarr

    selections = {"full": (slice(None), slice(None)),
                  "window": (slice(0, int(RATE)), slice(None)),
                  "channel": (slice(None), 17)}
    sel = selections[cfg["what"]]
    t0 = time.perf_counter()
    if cfg["who"] == "zarr":
        arr = zarr.open_array(cfg["path"], mode="r")
        t1 = time.perf_counter()
        out = arr[sel]
        t2 = time.perf_counter()
    else:
        from hdmf_zarr import NWBZarrIO

        io = NWBZarrIO(cfg["path"], "r")
        arr = io.read().acquisition["es"].data
        t1 = time.perf_counter()
        out = arr[sel]
        t2 = time.perf_counter()
        io.close()
    return {"open": t1 - t0, "slice": t2 - t1, "checksum": int(np.asarray(out, np.int64).sum())}


def run_child(cfg) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"child failed ({cfg}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- parent side
def bench_layout(name, fmt, shards, rows, buffer, tmp, repeat) -> list[dict]:
    ours_path = os.path.join(tmp, f"{name}.nwb.zarr")
    plain_path = os.path.join(tmp, f"{name}.plain.zarr")
    base = {"fmt": fmt, "rows": rows, "buffer": buffer, "shards": shards,
            "template": os.path.join(tmp, "template.npy")}
    best = {}

    def measure(key, cfg, fn=run_child):
        results = [fn(cfg) for _ in range(repeat)]
        best[key] = min(results, key=lambda r: r.get("seconds", r.get("slice", 0)))
        return best[key]

    ours = measure("ours_serial", {**base, "who": "ours", "jobs": 1, "path": ours_path})
    plain_shards = ours["shards"]
    measure("plain_write", {**base, "who": "zarr", "path": plain_path,
                            "plain_shards": plain_shards})
    measure("ours_parallel", {**base, "who": "ours", "jobs": 2, "path": ours_path})
    for what in ("full", "window", "channel"):
        measure(f"plain_{what}", {"who": "zarr", "what": what,
                                  "path": plain_path})
        measure(f"ours_{what}", {"who": "ours", "what": what, "path": ours_path})
        if best[f"plain_{what}"]["checksum"] != best[f"ours_{what}"]["checksum"]:
            raise AssertionError(f"{name}: {what} read differs between zarr and hdmf_zarr")
    buffer_mb = int(np.prod(buffer)) * 2 / 1e6
    rows_out = []

    def row(label, ours_s, plain_s, target, note=""):
        rows_out.append({"layout": name, "measure": label, "ours": ours_s, "plain": plain_s,
                         "ratio": ours_s / plain_s if plain_s else float("nan"),
                         "target": target, "note": note})

    row("write serial (s)", best["ours_serial"]["seconds"], best["plain_write"]["seconds"],
        "<= 1.05")
    speedup = best["ours_serial"]["seconds"] / best["ours_parallel"]["seconds"]
    row("write number_of_jobs=2 (s)", best["ours_parallel"]["seconds"],
        best["plain_write"]["seconds"], ">= 1.6x vs serial", f"speed-up {speedup:.2f}x")
    for what in ("full", "window", "channel"):
        o, p = best[f"ours_{what}"], best[f"plain_{what}"]
        row(f"read {what} (s)", o["slice"], p["slice"],
            "<= 1.05" if what == "full" else "",
            f"open: ours {o['open']:.3f} s, zarr {p['open']:.3f} s")
    limit = 2 * buffer_mb + 150
    row("peak RSS increase, serial write (MB)", best["ours_serial"]["peak_delta"] / 1e6,
        best["plain_write"]["peak_delta"] / 1e6, f"<= {limit:.0f} MB",
        f"buffer {buffer_mb:.0f} MB")
    row("stored objects of the array", best["ours_serial"]["objects"],
        best["plain_write"]["objects"], "<= 50 (sharded)" if shards == "default" else "",
        f"shards {best['ours_serial']['shards']}, {best['ours_serial']['stored'] / 1e6:.0f} MB "
        "stored")
    return rows_out


def print_table(rows) -> None:
    head = ("layout", "measure", "hdmf_zarr", "zarr", "ratio", "target", "note")
    lines = [head]
    for r in rows:
        lines.append((r["layout"], r["measure"], f"{r['ours']:.3f}", f"{r['plain']:.3f}",
                      f"{r['ratio']:.3f}", r["target"], r["note"]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for i, line in enumerate(lines):
        print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="180,000 rows and (60000, 384) buffers: a quick check")
    parser.add_argument("--layouts", default="L3,L3-unsharded,L2",
                        help="comma-separated subset of L3, L3-unsharded, L2")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measure (best kept)")
    parser.add_argument("--tmp", default=None, help="directory for the stores")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        cfg = json.loads(args.child)
        result = task_write(cfg) if "what" not in cfg else task_read(cfg)
        print(json.dumps(result))
        return
    rows, buffer = (180_000, [60_000, N_CHANNELS]) if args.small else \
        (1_320_000, [120_000, N_CHANNELS])
    layouts = {"L3": (3, "default"), "L3-unsharded": (3, "none"), "L2": (2, "none")}
    tmp = args.tmp or tempfile.mkdtemp(prefix="bench_large_")
    os.makedirs(tmp, exist_ok=True)
    print(f"{rows} x {N_CHANNELS} int16 ({rows * N_CHANNELS * 2 / 1e9:.2f} GB), chunks {CHUNKS}, "
          f"Blosc zstd 5 shuffle, iterator buffer {tuple(buffer)}; {os.cpu_count()} CPUs; "
          f"stores in {tmp}", flush=True)
    table = []
    try:
        make_template(os.path.join(tmp, "template.npy"))
        for name in args.layouts.split(","):
            fmt, shards = layouts[name]
            started = time.perf_counter()
            table += bench_layout(name, fmt, shards, rows, buffer, tmp, args.repeat)
            print(f"  {name} done in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        if args.tmp is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print_table(table)


if __name__ == "__main__":
    main()
