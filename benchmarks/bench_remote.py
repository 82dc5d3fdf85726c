"""Streaming NWB over HTTP and S3: hdmf_zarr (L3, L2) against the HDF5 streaming clients.

Run by hand (never by the test suite):

    pip install -e '.[test,bench]'
    python benchmarks/bench_remote.py [--delays 0,20] [--files real,many,large] [--out DIR]
                                      [--no-s3] [--repeat 1]

A loopback HTTP server (``Range`` requests, HTTP/1.1 keep-alive, TCP_NODELAY, listen backlog
1024) serves the files; every request waits ``delay`` ms before it is answered and is counted
with the bytes it returns. "rtt" is the number of sequential round trips: how often a request
arrives while no other request is in flight (concurrent requests share one round trip).

Clients, each timed in a fresh process (imports are not timed):
- ``h5-fsspec``: ``NWBHDF5IO`` over an fsspec HTTP file (fsspec's default 5 MiB blocks);
- ``h5-remfile``: ``NWBHDF5IO`` over ``remfile.File`` (remfile is in the ``bench`` extra);
- ``L3``/``L2``: ``NWBZarrIO(url, "r")`` on the Zarr conversion of the same file;
- ``L3+prefetch``/``L2+prefetch``: the same with ``prefetch=True`` (docs/performance.md,
  "Streaming").

Workloads: ``open``: open + ``read()``; ``touch``: then ``units.to_dataframe()`` (when there are
units), a 1 s window of the first ElectricalSeries, and ``data[:100]`` of every TimeSeries.

Files: ``real`` (files of ``../shared/data/real``), ``many`` (1000 TimeSeries and a 5000-row
table, see bench_metadata.py), ``large`` (~200 MB ephys plus 1000 units). The second table
repeats the runs over S3 (moto's server on 127.0.0.1 behind the same delaying, counting proxy).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real"
REAL_FILES = ("neuroconv/ecephys_tutorial_v2.5.0.nwb", "dandi_nwb_test_data_v2.0.1/test_Units.nwb",
              "pynapple/A8604-211122.nwb", "osb_nwbshowcase/FergusonEtAl2015_PYR2.nwb")
CLIENTS = ("h5-fsspec", "h5-remfile", "L3", "L2", "L3+prefetch", "L2+prefetch")


# ---------------------------------------------------------------------------------------------
# The server: files from a directory (HTTP) or forwarded to an upstream (S3 via moto)
# ---------------------------------------------------------------------------------------------
class Stats:
    """Requests, bytes and sequential round trips seen by the server, thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = self.bytes = self.rtt = self.in_flight = 0

    def begin(self):
        with self.lock:
            if self.in_flight == 0:
                self.rtt += 1
            self.in_flight += 1
            self.requests += 1

    def end(self, nbytes: int):
        with self.lock:
            self.in_flight -= 1
            self.bytes += nbytes

    def snapshot(self) -> dict:
        with self.lock:
            return {"requests": self.requests, "bytes": self.bytes, "rtt": self.rtt}


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024  # Zarr issues many requests at once: keep the backlog deep
    daemon_threads = True

    def __init__(self, addr, handler, root: Path | None, upstream: str | None, stats: Stats):
        super().__init__(addr, handler)
        self.root, self.upstream, self.stats, self.delay = root, upstream, stats, 0.0


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):  # quiet
        pass

    def _control(self) -> bool:
        srv = self.server
        if self.path.startswith("/__stats"):
            body = json.dumps(srv.stats.snapshot()).encode()
            if "reset" in self.path:
                srv.stats.reset()
            self._reply(200, body, {"Content-Type": "application/json"})
            return True
        if self.path.startswith("/__delay/"):
            srv.delay = float(self.path.rsplit("/", 1)[1]) / 1000.0
            self._reply(200, b"ok", {})
            return True
        return False

    def _reply(self, status: int, body: bytes, headers: dict, head_only: bool = False):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _serve(self, method: str):
        if self._control():
            return
        srv = self.server
        srv.stats.begin()
        sent = 0
        try:
            time.sleep(srv.delay)
            if srv.upstream:
                sent = self._forward(method)
            else:
                sent = self._file(method)
        finally:
            srv.stats.end(sent)

    def _file(self, method: str) -> int:
        root = self.server.root
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        target = (root / rel).resolve()
        if root not in target.parents or not target.is_file():
            self._reply(404, b"", {}, head_only=method == "HEAD")
            return 0
        size = target.stat().st_size
        rng = self.headers.get("Range")
        start, stop, status = 0, size, 200
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].split(",")[0].partition("-")
            if a == "":
                start = max(0, size - int(b))
            else:
                start = int(a)
                stop = min(size, int(b) + 1) if b else size
            status = 206
            if start >= size:
                self._reply(416, b"", {"Content-Range": f"bytes */{size}"})
                return 0
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                   "Content-Length": str(stop - start)}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        if method == "HEAD":
            self._reply(status, b"", headers, head_only=True)
            return 0
        with open(target, "rb") as fh:
            fh.seek(start)
            body = fh.read(stop - start)
        self._reply(status, body, headers)
        return len(body)

    def _forward(self, method: str) -> int:
        import http.client

        up = urlsplit(self.server.upstream)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(method, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = {k: v for k, v in resp.getheaders()
               if k.lower() not in ("connection", "transfer-encoding", "content-length")}
        out["Content-Length"] = resp.getheader("Content-Length", str(len(data)))
        self._reply(resp.status, data, out, head_only=method == "HEAD")
        conn.close()
        return 0 if method == "HEAD" else len(data)

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_PUT(self):
        self._serve("PUT")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")


def start_server(root: Path | None = None, upstream: str | None = None):
    """A counting, delaying server on 127.0.0.1; returns (server, base URL)."""
    srv = _Server(("127.0.0.1", 0), _Handler, root.resolve() if root else None, upstream, Stats())
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


# ---------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------
def _nwbfile(identifier: str):
    from pynwb import NWBFile

    return NWBFile(session_description="bench", identifier=identifier,
                   session_start_time=datetime(2024, 1, 1, tzinfo=UTC))


def make_many(path: Path) -> None:
    """1000 TimeSeries and a 5000-row table (bench_metadata's write_many objects)."""
    sys.path.insert(0, str(HERE))
    from pynwb import NWBHDF5IO

    from bench_metadata import build_many

    nwb = _nwbfile("many")
    build_many(nwb)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def make_large(path: Path) -> None:
    """~200 MB: 64-channel int16 ephys at 30 kHz for ~52 s, and 1000 units with spike times."""
    import numpy as np
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO
    from pynwb.ecephys import ElectricalSeries

    rng = np.random.default_rng(0)
    nwb = _nwbfile("large")
    dev = nwb.create_device(name="probe")
    grp = nwb.create_electrode_group(name="shank", description="s", location="CA1", device=dev)
    for _ in range(64):
        nwb.add_electrode(group=grp, location="CA1")
    region = nwb.create_electrode_table_region(list(range(64)), "all")
    data = rng.integers(-2000, 2000, size=(1_560_000, 64), dtype=np.int16)
    nwb.add_acquisition(ElectricalSeries(
        name="es", data=H5DataIO(data, chunks=(30000, 64)), electrodes=region, rate=30000.0))
    for u in range(1000):
        nwb.add_unit(spike_times=np.sort(rng.random(200) * 52.0), electrodes=[u % 64])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def to_zarr(src: Path, dst: Path, fmt: int) -> None:
    from pynwb import NWBHDF5IO

    from hdmf_zarr import NWBZarrIO

    with NWBHDF5IO(str(src), "r") as s, NWBZarrIO(str(dst), "w", zarr_format=fmt) as d:
        d.export(src_io=s, write_args={"link_data": False})


def prepare(out: Path, which: list[str], real: list[str]) -> list[tuple[str, Path]]:
    """The HDF5 files of the run, with L3/L2 conversions beside each (name.L3.zarr, .L2.zarr)."""
    files: list[tuple[str, Path]] = []
    if "real" in which:
        for rel in real:
            src = REAL / rel
            if src.exists():
                dst = out / src.name
                if not dst.exists():
                    dst.write_bytes(src.read_bytes())
                files.append((src.stem, dst))
    for name, make in (("many", make_many), ("large", make_large)):
        if name in which:
            path = out / f"{name}.nwb"
            if not path.exists():
                print(f"making {path} ...", flush=True)
                make(path)
            files.append((name, path))
    for _, path in files:
        for fmt in (3, 2):
            dst = path.with_suffix(f".L{fmt}.zarr")
            if not dst.exists():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    to_zarr(path, dst, fmt)
    return files


# ---------------------------------------------------------------------------------------------
# The client (runs in a fresh process: ``--client``)
# ---------------------------------------------------------------------------------------------
def _touch(nwbfile) -> None:
    from pynwb import TimeSeries
    from pynwb.ecephys import ElectricalSeries

    if nwbfile.units is not None:
        nwbfile.units.to_dataframe()
    series = [o for o in nwbfile.objects.values() if isinstance(o, TimeSeries)]
    es = [s for s in series if isinstance(s, ElectricalSeries)]
    if es and es[0].rate:
        es[0].data[: int(es[0].rate)]
    for s in series:
        if s.data is not None and not isinstance(s.data, str) and getattr(s.data, "shape", (1,)):
            s.data[:100]


def run_client(kind: str, url: str, workload: str, s3: dict | None) -> dict:
    warnings.simplefilter("ignore")
    # imports are not timed: fsspec imports its HTTP and S3 file systems (aiohttp, ~0.2 s)
    # on first use, which both fsspec-based clients would otherwise pay inside the timing
    import fsspec.implementations.http
    import h5py
    from pynwb import NWBHDF5IO

    from hdmf_zarr import NWBZarrIO

    if s3:
        import s3fs  # noqa: F401
    t0 = time.perf_counter()
    if kind == "h5-fsspec":
        import fsspec

        fs = (fsspec.filesystem("s3", **s3) if s3 else fsspec.filesystem("http"))
        fh = fs.open(url, "rb")
        io = NWBHDF5IO(file=h5py.File(fh, "r"), load_namespaces=True)
    elif kind == "h5-remfile":
        import remfile

        io = NWBHDF5IO(file=h5py.File(remfile.File(url), "r"), load_namespaces=True)
    else:
        io = NWBZarrIO(url, "r", storage_options=s3, prefetch=kind.endswith("+prefetch"))
    nwbfile = io.read()
    t_open = time.perf_counter() - t0
    if workload == "touch":
        _touch(nwbfile)
    return {"open": t_open, "total": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------
# Driving the runs
# ---------------------------------------------------------------------------------------------
def _get(base: str, path: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(base + path) as r:
        return json.loads(r.read() or b"{}") if path.startswith("/__stats") else {}


def measure(base: str, kind: str, url: str, workload: str, s3: dict | None) -> dict:
    _get(base, "/__stats?reset")
    cmd = [sys.executable, __file__, "--client", kind, "--url", url, "--workload", workload]
    if s3:
        cmd += ["--s3", json.dumps(s3)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    stats = _get(base, "/__stats?reset")
    if res.returncode != 0:
        err = (res.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": err[:60], **stats}
    return {**json.loads(res.stdout.strip().splitlines()[-1]), **stats}


def _urls(base: str, path: Path, s3: dict | None) -> dict:
    pre = "s3://bench/" if s3 else f"{base}/"
    remfile_url = s3["presigned"][path.name] if s3 else f"{base}/{path.name}"
    return {"h5-fsspec": pre + path.name, "h5-remfile": remfile_url,
            "L3": pre + path.with_suffix(".L3.zarr").name,
            "L2": pre + path.with_suffix(".L2.zarr").name,
            "L3+prefetch": pre + path.with_suffix(".L3.zarr").name,
            "L2+prefetch": pre + path.with_suffix(".L2.zarr").name}


def table(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}\n")
    print("| file | delay | workload | client | s | rtt | requests | MB | / h5-fsspec "
          "| / h5-remfile |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ref = {c: r["res"].get(c, {}).get("total") for c in ("h5-fsspec", "h5-remfile")}
        for c in CLIENTS:
            m = r["res"].get(c)
            if m is None:
                continue
            if "error" in m:
                print(f"| {r['file']} | {r['delay']} | {r['workload']} | {c} | error: {m['error']} "
                      f"| | | | | |")
                continue
            ratios = [f"{m['total'] / ref[k]:.2f}" if ref[k] else "" for k in ref]
            print(f"| {r['file']} | {r['delay']} | {r['workload']} | {c} | {m['total']:.2f} | "
                  f"{m['rtt']} | {m['requests']} | {m['bytes'] / 1e6:.2f} | {ratios[0]} | "
                  f"{ratios[1]} |")


def bench(files, delays, base, srv, s3: dict | None, repeat: int) -> list[dict]:
    rows = []
    for name, path in files:
        urls = _urls(base, path, s3)
        s3_options = {k: v for k, v in s3.items() if k != "presigned"} if s3 else None
        for delay in delays:
            _get(base, f"/__delay/{delay}")
            for workload in ("open", "touch"):
                res = {}
                for kind in CLIENTS:
                    best = None
                    for _ in range(repeat):
                        m = measure(base, kind, urls[kind], workload, s3_options)
                        if best is None or ("total" in m and m["total"] < best.get("total", 1e99)):
                            best = m
                    res[kind] = best
                rows.append({"file": name, "delay": delay, "workload": workload, "res": res})
                print(".", end="", flush=True)
    return rows


def s3_upload(endpoint: str, files) -> dict:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k",
                      aws_secret_access_key="s", region_name="us-east-1")
    s3.create_bucket(Bucket="bench")
    presigned = {}
    for _, path in files:
        s3.upload_file(str(path), "bench", path.name)
        presigned[path.name] = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": path.name}, ExpiresIn=86400)
        for fmt in (3, 2):
            root = path.with_suffix(f".L{fmt}.zarr")
            for p in root.rglob("*"):
                if p.is_file():
                    s3.upload_file(str(p), "bench", f"{root.name}/{p.relative_to(root).as_posix()}")
    return {"key": "k", "secret": "s", "presigned": presigned,
            "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}


def main() -> None:
    global CLIENTS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--client")
    ap.add_argument("--url")
    ap.add_argument("--workload")
    ap.add_argument("--s3")
    ap.add_argument("--delays", default="0,20")
    ap.add_argument("--files", default="real,many,large")
    ap.add_argument("--real", default=",".join(REAL_FILES),
                    help="real files (relative to ../shared/data/real) for --files real")
    ap.add_argument("--out", default="/tmp/bench_remote")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-s3", action="store_true")
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help="clients to run (comma-separated, among " + ", ".join(CLIENTS) + ")")
    args = ap.parse_args()
    if args.client:
        s3 = json.loads(args.s3) if args.s3 else None
        print(json.dumps(run_client(args.client, args.url, args.workload, s3)))
        return
    CLIENTS = tuple(c for c in CLIENTS if c in args.clients.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = prepare(out, args.files.split(","), args.real.split(","))
    delays = [float(d) for d in args.delays.split(",")]
    srv, base = start_server(root=out)
    table("HTTP (loopback, delay in ms per request)",
          bench(files, delays, base, srv, None, args.repeat))
    srv.shutdown()
    if args.no_s3:
        return
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        proxy, base = start_server(upstream=f"http://{host}:{port}")
        opts = s3_upload(base, files)
        table("S3 (moto on loopback behind the same proxy)",
              bench(files, delays, base, proxy, opts, args.repeat))
        proxy.shutdown()
    finally:
        moto.stop()


if __name__ == "__main__":
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "k")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "s")
    main()
