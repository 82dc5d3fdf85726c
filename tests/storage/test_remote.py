"""Remote stores: S3 through moto's server on 127.0.0.1 (s3fs), and a read-only HTTP server
(http.server) on 127.0.0.1. Both are started and stopped by the fixtures."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from functools import partial

import numpy as np
import pytest
from _range_http import RangeServer
from hdmf.testing import TestCase
from pynwb import TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.storage import WrapperStore

from hdmf_zarr import NWBZarrIO, ZarrDataIO

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1 with one bucket; yields (storage_options, bucket url)."""
    port = _free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    try:
        _wait_for(port)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket="nwb")
        options = {"key": "testing", "secret": "testing",
                   "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        yield options, "s3://nwb"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _nwbfile(n_series=3):
    nwb = mock_NWBFile()
    mock_ElectricalSeries(nwbfile=nwb)
    for i in range(n_series):
        nwb.add_acquisition(TimeSeries(name=f"ts{i}", data=np.arange(50.0) * (i + 1),
                                       timestamps=np.arange(50.0) / 10, unit="m"))
    nwb.add_epoch(start_time=0.0, stop_time=1.0, timeseries=[nwb.acquisition["ts0"]])
    return nwb


@LAYOUTS
def test_s3_round_trip(s3, fmt):
    options, bucket = s3
    url = f"{bucket}/roundtrip{fmt}.nwb.zarr"
    nwb = _nwbfile()
    with NWBZarrIO(url, "w", zarr_format=fmt, storage_options=options) as io:
        io.write(nwb)
        assert io.is_remote()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(url, "r", storage_options=options) as io:
            TestCase().assertContainerEqual(nwb, io.read(), ignore_hdmf_attrs=True,
                                            ignore_name=True)


class _CountingStore(WrapperStore):
    def __init__(self, store):
        super().__init__(store)
        self.gets = Counter()

    def _with_store(self, store):
        return type(self)(store)

    async def get(self, key, prototype, byte_range=None):
        self.gets[key] += 1
        return await self._store.get(key, prototype, byte_range)

    async def exists(self, key):
        self.gets[key] += 1
        return await self._store.exists(key)


@LAYOUTS
def test_s3_open_costs_few_requests(s3, fmt):
    """Opening an NWB file on S3 with consolidated metadata costs <= 3 GET requests before the
    first data read (issue: every store)."""
    from zarr.storage import FsspecStore

    options, bucket = s3
    url = f"{bucket}/count{fmt}.nwb.zarr"
    with NWBZarrIO(url, "w", zarr_format=fmt, storage_options=options) as io:
        io.write(_nwbfile(n_series=10))
    store = _CountingStore(FsspecStore.from_url(url, storage_options=options, read_only=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(store, "r") as io:
            builder = io.read_builder()
            metadata_gets = sum(n for k, n in store.gets.items()
                                if k.rpartition("/")[2] in ("zarr.json", ".zgroup", ".zattrs",
                                                            ".zarray", ".zmetadata"))
            assert metadata_gets <= 3, dict(store.gets)
            data = builder["acquisition"]["ts4"]["data"].data[:]
    np.testing.assert_array_equal(data, np.arange(50.0) * 5)


@LAYOUTS
def test_s3_external_link_in_same_prefix(s3, fmt):
    """A file and its external link target in the same S3 prefix open from S3."""
    options, bucket = s3
    raw_url = f"{bucket}/session{fmt}/raw.nwb.zarr"
    proc_url = f"{bucket}/session{fmt}/processed.nwb.zarr"
    raw = mock_NWBFile()
    raw.add_acquisition(TimeSeries(name="source", data=np.arange(100, dtype="int16"),
                                   rate=10.0, unit="V"))
    with NWBZarrIO(raw_url, "w", zarr_format=fmt, storage_options=options) as io:
        io.write(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(raw_url, "r", storage_options=options) as raw_io:
            source = raw_io.read().acquisition["source"].data
            processed = mock_NWBFile()
            processed.add_acquisition(TimeSeries(name="linked",
                                                 data=ZarrDataIO(source, link_data=True),
                                                 rate=10.0, unit="V"))
            with NWBZarrIO(proc_url, "w", zarr_format=fmt, storage_options=options) as io:
                io.write(processed)
        import s3fs

        fs = s3fs.S3FileSystem(**options)
        doc_key = "zarr.json" if fmt == 3 else ".zattrs"
        doc = json.loads(fs.cat(f"{proc_url[5:]}/acquisition/linked/{doc_key}"))
        links = (doc["attributes"] if fmt == 3 else doc)["_LINKS" if fmt == 3 else "zarr_link"]
        assert links == [{"name": "data", "source": "../raw.nwb.zarr",
                          "path": "/acquisition/source/data"}]
        with NWBZarrIO(proc_url, "r", storage_options=options) as io:
            linked = io.read().acquisition["linked"]
            np.testing.assert_array_equal(linked.data[:], np.arange(100, dtype="int16"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_root(tmp_path_factory):
    """A read-only HTTP server on 127.0.0.1 serving a temporary folder."""
    root = tmp_path_factory.mktemp("http")
    port = _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@LAYOUTS
def test_http_read_only(http_root, fmt):
    root, base = http_root
    local = root / f"served{fmt}.nwb.zarr"
    nwb = _nwbfile()
    with NWBZarrIO(str(local), "w", zarr_format=fmt) as io:
        io.write(nwb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(f"{base}/served{fmt}.nwb.zarr", "r") as io:
            assert io.is_remote()
            read = io.read()
            TestCase().assertContainerEqual(nwb, read, ignore_hdmf_attrs=True,
                                            ignore_name=True)
            epochs = read.epochs.to_dataframe()
            assert epochs["timeseries"][0][0].timeseries.name == "ts0"


# --- remote stores that cannot be reached or refuse access -----------------------------------

def test_unreachable_s3_endpoint():
    """Nothing listens on the endpoint: a StoreAccessError naming the URL, quickly."""
    from hdmf_zarr.errors import StoreAccessError

    port = _free_port()
    options = {"key": "testing", "secret": "testing",
               "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}",
                                 "region_name": "us-east-1"},
               "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}}}
    started = time.monotonic()
    with pytest.raises(StoreAccessError, match=r"s3://nwb/gone\.nwb\.zarr: cannot access"):
        NWBZarrIO("s3://nwb/gone.nwb.zarr", "r", storage_options=options)
    assert time.monotonic() - started < 60


@LAYOUTS
def test_missing_s3_bucket_and_prefix(s3, fmt):
    from hdmf_zarr.errors import NotHdmfStoreError

    options, bucket = s3
    for url in ("s3://no-such-bucket/f.nwb.zarr", f"{bucket}/no-such-prefix{fmt}.nwb.zarr"):
        with pytest.raises(NotHdmfStoreError, match=f"{url}: not a Zarr store"):
            NWBZarrIO(url, "r", storage_options=options)


class _ForbiddenHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with 403 Forbidden (or 401 for paths under /auth/)."""

    def _refuse(self):
        code = 401 if self.path.startswith("/auth/") else 403
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _refuse

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("prefix, status", [("", "403"), ("/auth", "401")])
def test_http_unauthorized(prefix, status):
    from hdmf_zarr.errors import StoreAccessError

    port = _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _ForbiddenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}{prefix}/f.nwb.zarr"
        with pytest.raises(StoreAccessError, match=f"{url}: cannot access") as info:
            NWBZarrIO(url, "r")
        assert status in str(info.value)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- one HTTP request per key read (issue 16) ------------------------------------------------

@pytest.fixture(scope="module")
def s3_counted(s3):
    """The moto server of ``s3`` behind a counting proxy; yields (proxy, storage_options of the
    proxy, storage_options of moto itself, bucket url)."""
    from _counting_proxy import CountingProxy

    options, bucket = s3
    with CountingProxy(options["client_kwargs"]["endpoint_url"]) as proxy:
        counted = dict(options, client_kwargs=dict(options["client_kwargs"],
                                                   endpoint_url=proxy.url))
        yield proxy, counted, options, bucket


def _stored_keys(options, url):
    import s3fs

    fs = s3fs.S3FileSystem(**options)
    root = url[len("s3://"):]
    return sorted(p[len(root) + 1:] for p in fs.find(root))


def _read_keys(store, keys, byte_range=None):
    from hdmf_zarr.zarr_bridge.runtime import default_buffer_prototype, run

    async def read_all():
        proto = default_buffer_prototype()
        return [await store.get(k, proto, byte_range) for k in keys]

    return run(read_all())


@LAYOUTS
def test_s3_one_get_per_key(s3_counted, fmt):
    """Reading a key from S3 costs one GET and no HEAD (s3fs asked for the size of every whole
    value first, doubling the round trips of every read)."""
    from zarr.abc.store import RangeByteRequest, SuffixByteRequest

    from hdmf_zarr.storage import open_store

    proxy, counted, direct, bucket = s3_counted
    url = f"{bucket}/onegetperkey{fmt}.nwb.zarr"
    with NWBZarrIO(url, "w", zarr_format=fmt, storage_options=direct) as io:
        io.write(_nwbfile())
    keys = _stored_keys(direct, url)
    assert len(keys) > 20
    store, _location = open_store(url, "r", counted)
    proxy.reset()
    values = _read_keys(store, keys)
    assert all(v is not None for v in values)
    assert dict(proxy.counts) == {"GET": len(keys)}, proxy.requests[:6]
    for request in (RangeByteRequest(1, 5), SuffixByteRequest(4)):
        proxy.reset()
        parts = _read_keys(store, keys[:3], request)
        assert [len(p.to_bytes()) for p in parts] == [4, 4, 4]
        assert dict(proxy.counts) == {"GET": 3}, proxy.requests
    proxy.reset()
    assert _read_keys(store, ["no/such/key"]) == [None]
    assert sum(proxy.counts.values()) == 1, proxy.requests


def test_s3_max_concurrency_of_the_caller_wins():
    """Our default for S3 never overrides a value the caller passed; other URLs are untouched."""
    from hdmf_zarr.storage._remote import fsspec_options

    pool = {"config_kwargs": {"max_pool_connections": 100}}
    assert fsspec_options("s3://b/k", None) == {"max_concurrency": 1, **pool}
    assert fsspec_options("S3A://b/k", {"anon": True}) == {"anon": True, "max_concurrency": 1,
                                                          **pool}
    assert fsspec_options("s3://b/k", {"max_concurrency": 8}) == {"max_concurrency": 8, **pool}
    assert fsspec_options("s3://b/k", {"config_kwargs": {"max_pool_connections": 4,
                                                         "retries": {}}}) == {
        "max_concurrency": 1, "config_kwargs": {"max_pool_connections": 4, "retries": {}}}
    assert fsspec_options("https://host/f.zarr", {"a": 1}) == {"a": 1}
    given = {"key": "k", "config_kwargs": {"retries": {}}}
    fsspec_options("s3://b/k", given)
    assert given == {"key": "k", "config_kwargs": {"retries": {}}}


@LAYOUTS
def test_s3_reads_keep_more_than_ten_requests_in_flight(s3_counted, fmt):
    """A wave of key reads over S3 is not held to botocore's 10 connections: with 100 of them,
    40 reads are in flight at once (10 before: four sequential round trips)."""
    from hdmf_zarr.storage import open_store
    from hdmf_zarr.zarr_bridge import store_io

    proxy, counted, direct, bucket = s3_counted
    url = f"{bucket}/inflight{fmt}.nwb.zarr"
    with NWBZarrIO(url, "w", zarr_format=fmt, storage_options=direct) as io:
        io.write(_nwbfile(n_series=10))
    keys = _stored_keys(direct, url)[:40]
    assert len(keys) == 40
    store, _location = open_store(url, "r", counted)
    proxy.reset()
    proxy.delay = 0.2
    try:
        values = store_io.get_many(store, keys)
    finally:
        proxy.delay = 0.0
    assert all(values.get(k) is not None for k in keys)
    assert proxy.most_in_flight > 20, proxy.most_in_flight


class _CountingHandler(_QuietHandler):
    def do_GET(self):
        self.server.counts["GET"] += 1
        super().do_GET()

    def do_HEAD(self):
        self.server.counts["HEAD"] += 1
        super().do_HEAD()


@LAYOUTS
def test_http_one_get_per_key(tmp_path, fmt):
    """Over HTTP (fsspec's HTTPFileSystem) a key read is one GET, a byte range included."""
    from zarr.abc.store import RangeByteRequest, SuffixByteRequest

    from hdmf_zarr.storage import open_store

    local = tmp_path / "served.nwb.zarr"
    with NWBZarrIO(str(local), "w", zarr_format=fmt) as io:
        io.write(_nwbfile())
    keys = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(_CountingHandler, directory=str(tmp_path)))
    server.counts = Counter()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store, _location = open_store(
            f"http://127.0.0.1:{server.server_address[1]}/served.nwb.zarr", "r")
        values = _read_keys(store, keys)
        assert all(v is not None for v in values)
        assert dict(server.counts) == {"GET": len(keys)}
        for request in (RangeByteRequest(1, 5), SuffixByteRequest(4)):
            server.counts.clear()
            _read_keys(store, keys[:3], request)
            assert dict(server.counts) == {"GET": 3}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@LAYOUTS
def test_s3_nwb_read_sends_no_head_per_key(s3_counted, fmt):
    """Opening and reading an NWB file from S3 sends GETs, not a HEAD before each of them: at
    most one HEAD (an ``exists`` probe of the reader) where it sent one per key read."""
    proxy, counted, direct, bucket = s3_counted
    url = f"{bucket}/noheads{fmt}.nwb.zarr"
    nwb = _nwbfile()
    with NWBZarrIO(url, "w", zarr_format=fmt, storage_options=direct) as io:
        io.write(nwb)
    proxy.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(url, "r", storage_options=counted) as io:
            read = io.read()
            np.testing.assert_array_equal(read.acquisition["ts2"].data[:], np.arange(50.0) * 3)
    assert proxy.counts["GET"] >= 10, dict(proxy.counts)
    assert proxy.counts["HEAD"] <= 1, [r for r in proxy.requests if r[0] == "HEAD"]


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (400_000,))],
                         ids=["L2", "L3", "L3-sharded"])
def test_http_chunk_read_again_costs_no_request(tmp_path, fmt, shards):
    """After read(), a chunk read again (a window, then data[:100]; a shard's index for each of
    its chunks) is answered from the reader's chunk cache, not with another GET."""
    data = np.arange(2_400_000, dtype="float64")  # 19 MB: above the whole-array cache
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(
        name="big", unit="m", rate=10.0,
        data=ZarrDataIO(data, chunks=(100_000,), **({"shards": shards} if shards else {}))))
    with NWBZarrIO(str(tmp_path / "served.nwb.zarr"), "w", zarr_format=fmt) as io:
        io.write(nwb)
    with RangeServer(tmp_path) as server, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        url = f"{server.url}/served.nwb.zarr"
        with NWBZarrIO(url, "r") as io:
            big = io.read().acquisition["big"].data
            server.counts.clear()
            np.testing.assert_array_equal(big[1000:3000], data[1000:3000])
            first = server.counts["GET"]
            assert first == (2 if shards else 1)  # a shard: its index, then the chunk
            server.counts.clear()
            np.testing.assert_array_equal(big[:100], data[:100])
            np.testing.assert_array_equal(big[1000:3000], data[1000:3000])
            assert server.counts["GET"] == 0
            # another chunk of the same shard: the chunk only, the index is kept
            np.testing.assert_array_equal(big[150_000:150_010], data[150_000:150_010])
            assert server.counts["GET"] == 1
        with NWBZarrIO(url, "r") as io:  # the cache off: every read is a request
            io.chunk_cache_bytes = 0
            again = io.read().acquisition["big"].data
            again[:100]
            server.counts.clear()
            np.testing.assert_array_equal(again[:100], data[:100])
            assert server.counts["GET"] == first
