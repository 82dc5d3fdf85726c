"""``NWBZarrIO`` as a new user meets it (``hdmf_zarr.nwb``): ``read_nwb`` and ``pynwb.read_nwb``
on ``s3://`` read anonymously by default (moto's S3 server on 127.0.0.1), an HDF5 file is sent to
NWBHDF5IO, ``~`` is expanded, and the repr says what the IO holds."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from _shared import snapshot_files
from hdmf_zarr import NWBZarrIO, NWBZarrV2IO, ZarrIO
from hdmf_zarr.errors import NotHdmfStoreError
from hdmf_zarr.nwb import default_storage_options

REAL_H5 = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
           / "dandi_nwb_test_data_v2.0.1" / "test_TimeSeries.nwb")
LEGACY = (Path(__file__).resolve().parents[2] / "shared" / "data" / "legacy"
          / "ecephys_json_refs.nwb.zarr")
LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])


def _nwbfile():
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(20.0), rate=5.0, unit="m"))
    return nwb


# -------------------------------------------------------------------------- s3 anonymous
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_s3():
    """moto's S3 server on 127.0.0.1 with the bucket ``nwb``; yields (options with keys, the
    endpoint URL)."""
    port = _free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket="nwb")
        # objects written with these options are public, as on the DANDI archive (moto refuses
        # anonymous reads of private objects)
        options = {"key": "testing", "secret": "testing",
                   "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
                   "s3_additional_kwargs": {"ACL": "public-read"}}
        yield options, endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def anonymous_endpoint(moto_s3, monkeypatch):
    """Send s3:// URLs opened without options to moto (fsspec's per-protocol defaults, as a
    user's fsspec configuration would), with no credentials in the environment."""
    import fsspec.config

    _options, endpoint = moto_s3
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return endpoint


def test_default_storage_options():
    assert default_storage_options("s3://bucket/f.nwb.zarr", None) == {"anon": True}
    assert default_storage_options("S3://bucket/f.nwb.zarr", None) == {"anon": True}
    assert default_storage_options("s3://bucket/f.zarr", {"anon": False}) == {"anon": False}
    assert default_storage_options("/data/f.nwb.zarr", None) is None
    assert default_storage_options("https://host/f.nwb.zarr", None) is None


@LAYOUTS
def test_read_nwb_on_s3_is_anonymous_by_default(fmt, moto_s3, anonymous_endpoint):
    import pynwb

    options, _endpoint = moto_s3
    url = f"s3://nwb/anon{fmt}.nwb.zarr"
    with NWBZarrIO(url, "w", zarr_format=fmt, storage_options=options) as io:
        io.write(_nwbfile())
    for read in (NWBZarrIO.read_nwb, lambda path: pynwb.read_nwb(path=path)):
        nwbfile = read(url)
        try:
            np.testing.assert_array_equal(nwbfile.acquisition["ts"].data[:], np.arange(20.0))
            assert nwbfile.read_io.store.fs.anon is True
        finally:
            nwbfile.read_io.close()
    # explicit options are used as given
    nwbfile = NWBZarrIO.read_nwb(url, storage_options=options)
    try:
        assert nwbfile.read_io.store.fs.anon is False
        np.testing.assert_array_equal(nwbfile.acquisition["ts"].data[:], np.arange(20.0))
    finally:
        nwbfile.read_io.close()


def test_v2_reader_and_conversion_from_s3_are_anonymous(moto_s3, anonymous_endpoint, tmp_path):
    """0.14 style: read and convert a 0.13 store from a public bucket without options."""
    import s3fs

    from hdmf_zarr import is_zarr_v2_file

    options, _endpoint = moto_s3
    fs = s3fs.S3FileSystem(**options)
    fs.put(str(LEGACY), "nwb/legacy.nwb.zarr", recursive=True)
    url = "s3://nwb/legacy.nwb.zarr"
    assert is_zarr_v2_file(url) is True
    nwbfile = NWBZarrV2IO.read_nwb(url)
    try:
        assert nwbfile.read_io.store.fs.anon is True
        assert len(nwbfile.units) == 5
        es = nwbfile.acquisition["es"].data[:]
    finally:
        nwbfile.read_io.close()
    dest = tmp_path / "converted.nwb.zarr"
    NWBZarrV2IO.convert_to_v3(url, str(dest))
    with NWBZarrIO(str(dest), "r") as io:
        assert io.zarr_format == 3
        np.testing.assert_array_equal(io.read().acquisition["es"].data[:], es)


# -------------------------------------------------------------------------- HDF5, ~ and repr
@pytest.mark.parametrize("mode", ["r", "r-", "r+", "a", "w"])
def test_hdf5_file_is_sent_to_nwbhdf5io(mode, tmp_path):
    h5 = tmp_path / "file.nwb"
    shutil.copyfile(REAL_H5, h5)
    before = snapshot_files(tmp_path)
    with pytest.raises(NotHdmfStoreError, match=r"HDF5 file.*pynwb\.NWBHDF5IO") as info:
        NWBZarrIO(str(h5), mode)
    assert str(h5) in str(info.value)
    with pytest.raises(NotHdmfStoreError, match=r"HDF5 file.*hdmf\.backends\.hdf5\.HDF5IO"):
        ZarrIO(h5, mode)
    assert snapshot_files(tmp_path) == before


def test_a_new_file_named_nwb_is_still_written(tmp_path):
    """Only an existing HDF5 file is refused: a new store may carry any name."""
    path = tmp_path / "new.nwb"
    with NWBZarrIO(str(path), "w") as io:
        io.write(_nwbfile())
    with NWBZarrIO(str(path), "r") as io:
        np.testing.assert_array_equal(io.read().acquisition["ts"].data[:], np.arange(20.0))


@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_tilde_is_expanded(as_path, tmp_path, monkeypatch):
    home = tmp_path / "home"
    cwd = tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    name = "~/f.nwb.zarr"
    where = Path(name) if as_path else name
    with NWBZarrIO(where, "w") as io:
        io.write(_nwbfile())
        assert io.abspath == str(home / "f.nwb.zarr")
    assert (home / "f.nwb.zarr" / "zarr.json").is_file()
    assert list(cwd.iterdir()) == []
    with NWBZarrIO(where, "r") as io:
        np.testing.assert_array_equal(io.read().acquisition["ts"].data[:], np.arange(20.0))
    assert NWBZarrIO.can_read(name)
    nwbfile = NWBZarrIO.read_nwb(name)
    try:
        assert nwbfile.acquisition["ts"].rate == 5.0
    finally:
        nwbfile.read_io.close()


@LAYOUTS
def test_repr_says_what_the_io_holds(fmt, tmp_path):
    path = tmp_path / "f.nwb.zarr"
    io = NWBZarrIO(str(path), "w", zarr_format=fmt)
    text = repr(io)
    assert text.startswith("<NWBZarrIO ") and str(path) in text and "mode='w'" in text
    assert f"layout L{fmt} (Zarr format {fmt})" in text and text.endswith("open>")
    io.write(_nwbfile())
    io.close()
    assert repr(io).endswith("closed>")
    with ZarrIO(str(path), "r") as zio:
        text = repr(zio)
        assert text.startswith("<ZarrIO ") and "mode='r'" in text and f"layout L{fmt}" in text
