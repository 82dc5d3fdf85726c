"""Streaming NWB over HTTP and S3: hdmf_zarr (L3, L2) against the HDF5 streaming clients.

Run by hand (never by the test suite):

    pip install -e '.[test,bench]'
    python benchmarks/bench_remote.py [--delays 0,20] [--files real,many,large] [--out DIR]
                                      [--no-s3] [--repeat 1]

A loopback HTTP server (aiohttp; ``Range`` requests, HTTP/1.1 keep-alive, TCP_NODELAY, listen
backlog 1024) serves the files; every request waits ``delay`` ms before it is answered and is
counted with the bytes it returns. "rtt" is the number of sequential round trips: how often a
request arrives while no other request is in flight (concurrent requests share one round trip;
a wave larger than the client's connection pool, 100 for fsspec's HTTP, shows as several).

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
repeats the runs over S3 (moto's server on 127.0.0.1, in its own process, behind the same
delaying, counting proxy).
"""

from __future__ import annotations

import argparse
import asyncio
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
from urllib.parse import unquote

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


class Server:
    """The counting, delaying server: aiohttp on its own event loop thread.

    Files of ``root`` are served with ``Range`` support (GET, HEAD); with ``upstream`` every
    request is forwarded there instead (the S3 proxy in front of moto). Control paths:
    ``/__stats`` (``?reset`` clears the counts), ``/__delay/<ms>``.

    An asyncio server answers concurrent requests concurrently, as a cloud server does; the
    ``http.server`` threads used before took about 1 ms of CPU per request under the GIL, so
    that a client making 2000 requests measured the server more than itself (docs/performance.md,
    "Streaming").
    """

    def __init__(self, root: Path | None, upstream: str | None):
        self.root, self.upstream, self.stats, self.delay = root, upstream, Stats(), 0.0
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit TCP_NODELAY from the listening socket on Linux
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)  # Zarr issues many requests at once: keep the backlog deep
        self.port = self.sock.getsockname()[1]
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(30)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        import aiohttp
        from aiohttp import web

        app = web.Application(client_max_size=2**31)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock, backlog=1024).start()
        self.session = aiohttp.ClientSession(auto_decompress=False) if self.upstream else None

    async def _stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.runner.cleanup()

    def shutdown(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)

    async def _handle(self, request):
        from aiohttp import web

        if request.path.startswith("/__stats"):
            body = json.dumps(self.stats.snapshot())
            if "reset" in request.query_string:
                self.stats.reset()
            return web.Response(text=body, content_type="application/json")
        if request.path.startswith("/__delay/"):
            self.delay = float(request.path.rsplit("/", 1)[1]) / 1000.0
            return web.Response(text="ok")
        self.stats.begin()
        sent = 0
        try:
            await asyncio.sleep(self.delay)
            response, sent = await (self._forward(request) if self.upstream
                                    else self._file(request))
            return response
        finally:
            self.stats.end(sent)

    @staticmethod
    async def _stream(request, status: int, headers, pieces) -> tuple:
        """Send ``pieces`` (an async iterator of bytes) as the body, as a cloud server does: a
        client that reads the headers and closes (remfile learns a file's size with a GET it
        aborts) stops the transfer. Returns (response, bytes sent)."""
        from aiohttp import web

        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        sent = 0
        try:
            async for piece in pieces:
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except ConnectionError:  # the client closed the connection
            pass
        return response, sent

    async def _file(self, request):
        from aiohttp import web

        root = self.root
        assert root is not None
        target = (root / unquote(request.path).lstrip("/")).resolve()
        if root not in target.parents or not target.is_file():
            return web.Response(status=404), 0
        size = target.stat().st_size
        rng = request.headers.get("Range")
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
                return web.Response(status=416,
                                    headers={"Content-Range": f"bytes */{size}"}), 0
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                   "Content-Length": str(stop - start)}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        if request.method == "HEAD":
            return web.Response(status=status, headers=headers), 0

        async def pieces():
            with open(target, "rb") as fh:
                fh.seek(start)
                left = stop - start
                while left > 0:
                    piece = fh.read(min(left, 2**20))
                    left -= len(piece)
                    yield piece

        return await self._stream(request, status, headers, pieces())

    async def _forward(self, request):
        from aiohttp import web

        assert self.session is not None and self.upstream is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("connection", "content-length", "transfer-encoding")}
        async with self.session.request(request.method, self.upstream + request.path_qs,
                                        data=body or None, headers=headers,
                                        allow_redirects=False) as up:
            out = {k: v for k, v in up.headers.items()
                   if k.lower() not in ("connection", "transfer-encoding", "content-encoding")}
            if request.method == "HEAD":
                return web.Response(status=up.status, headers=out), 0
            return await self._stream(request, up.status, out, up.content.iter_chunked(2**20))


def start_server(root: Path | None = None, upstream: str | None = None):
    """A counting, delaying server on 127.0.0.1; returns (server, base URL)."""
    srv = Server(root.resolve() if root else None, upstream)
    return srv, f"http://127.0.0.1:{srv.port}"


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
    # moto in a process of its own: in this one it would share the GIL with the proxy
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        proxy, base = start_server(upstream=f"http://127.0.0.1:{port}")
        opts = s3_upload(base, files)
        table("S3 (moto on loopback behind the same proxy)",
              bench(files, delays, base, proxy, opts, args.repeat))
        proxy.shutdown()
    finally:
        moto.terminate()
        moto.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "k")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "s")
    main()
