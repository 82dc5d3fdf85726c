"""L3 chunk keys use the ``.`` separator on every write path (FORMAT.md 3.1: ``c.i.j``, 0-d
``c``), and stores whose keys use ``/`` (0.14's files, ours before) still read.

DANDI refuses Zarr keys of more than 7 path components; with ``/`` the chunk
``processing/ecephys/LFP/ElectricalSeries/data/c/0/0`` has 8.
"""

import json
import shutil
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from hdmf.data_utils import DataChunkIterator
from pynwb import NWBHDF5IO
from pynwb.testing.mock.base import mock_TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from _shared import ArrayIterator
from hdmf_zarr.format.layout3 import L3
from hdmf_zarr.nwb import NWBZarrIO
from hdmf_zarr.utils import ZarrDataIO

DOT = {"name": "default", "configuration": {"separator": "."}}
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
BIG = np.arange(600 * 10, dtype="<i4").reshape(600, 10)


def _series():
    """Datasets for every write path: name -> (data given, values expected)."""
    text = np.array([f"row {i}" for i in range(7)], dtype=object)
    return {
        "small": (np.arange(12, dtype="f8").reshape(3, 4),) * 2,  # one-chunk batch
        "chunked": (ZarrDataIO(BIG, chunks=(100, 10), compressor=False), BIG),  # create_array
        "sharded": (ZarrDataIO(BIG, chunks=(50, 5), shards=(200, 10)), BIG),
        "dci": (DataChunkIterator(data=BIG.astype("<f4"), buffer_size=150),
                BIG.astype("<f4")),
        "generic": (ArrayIterator(BIG + 1, buffer_shape=(100, 10), chunk_shape=(100, 10),
                                  display_progress=False), BIG + 1),
        "dask": (ZarrDataIO(da.from_array(BIG * 2, chunks=(250, 10))), BIG * 2),
        "text": (text, text),
    }


def _chunk_keys(root: Path) -> dict[str, list[str]]:
    """Chunk objects of every L3 array, relative to the array's directory."""
    out = {}
    for doc_path in root.rglob("zarr.json"):
        doc = json.loads(doc_path.read_text())
        if doc.get("node_type") != "array":
            continue
        d = doc_path.parent
        out[d.relative_to(root).as_posix()] = sorted(
            p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()
            and p.name != "zarr.json")
    return out


@pytest.fixture(scope="module")
def l3_paths(tmp_path_factory):
    nwbfile = mock_NWBFile()
    series = _series()
    for name, (data, _) in series.items():
        mock_TimeSeries(name=name, data=data, rate=10.0, nwbfile=nwbfile)
    path = tmp_path_factory.mktemp("keys") / "k.nwb.zarr"
    with NWBZarrIO(str(path), mode="w", zarr_format=3) as io:
        io.write(nwbfile, number_of_jobs=2)
    return path, {name: expected for name, (_, expected) in series.items()}


def test_layout_names_the_dot_separator():
    assert L3().chunk_key_encoding == {"name": "default", "separator": "."}


def test_every_l3_write_path_uses_dot_keys(l3_paths):
    path, expected = l3_paths
    keys = _chunk_keys(path)
    for name in expected:
        doc = json.loads((path / f"acquisition/{name}/data/zarr.json").read_text())
        assert doc["chunk_key_encoding"] == DOT, name
    assert keys["acquisition/chunked/data"] == [f"c.{i}.0" for i in range(6)]
    assert keys["acquisition/sharded/data"] == [f"c.{i}.0" for i in range(3)]
    assert keys["acquisition/generic/data"] == [f"c.{i}.0" for i in range(6)]
    assert keys["acquisition/small/data"] == ["c.0.0"]
    assert keys["acquisition/text/data"] == ["c.0"]
    assert keys["acquisition/small/starting_time"] == ["c"]  # 0-d: the single key c
    for array, chunks in keys.items():
        assert chunks, array
        for chunk in chunks:
            assert "/" not in chunk, (array, chunk)
        doc = json.loads((path / array / "zarr.json").read_text())
        assert doc["chunk_key_encoding"] == DOT, array


def test_dot_keys_read_back(l3_paths):
    path, expected = l3_paths
    with NWBZarrIO(str(path), mode="r") as io:
        nwbfile = io.read()
        for name, values in expected.items():
            got = nwbfile.acquisition[name].data[()]
            if values.dtype == object:
                assert [str(v) for v in got] == list(values), name
            else:
                np.testing.assert_array_equal(got, values, err_msg=name)
            assert nwbfile.acquisition[name].starting_time == 0.0


def test_slash_keys_still_read(tmp_path, monkeypatch):
    """A store written with ``/`` keys (as before, and as 0.14 writes) reads back."""
    monkeypatch.setattr(L3, "chunk_key_encoding", property(lambda self: None))
    nwbfile = mock_NWBFile()
    mock_TimeSeries(name="ts", data=BIG, rate=10.0, nwbfile=nwbfile)
    mock_TimeSeries(name="big", data=ZarrDataIO(BIG, chunks=(100, 10)), rate=10.0,
                    nwbfile=nwbfile)
    path = tmp_path / "slash.nwb.zarr"
    with NWBZarrIO(str(path), mode="w", zarr_format=3) as io:
        io.write(nwbfile)
    monkeypatch.undo()
    assert (path / "acquisition/big/data/c/5/0").is_file()
    assert (path / "acquisition/ts/data/c/0/0").is_file()
    with NWBZarrIO(str(path), mode="r") as io:
        read = io.read()
        np.testing.assert_array_equal(read.acquisition["ts"].data[()], BIG)
        np.testing.assert_array_equal(read.acquisition["big"].data[250:420], BIG[250:420])
        assert read.acquisition["ts"].starting_time == 0.0


def test_upstream_014_store_with_slash_keys_reads(tmp_path):
    """0.14's ``/`` keys. Its epochs table is a ``struct`` compound (zarr >= 3.2), which is
    not what this test is about: the copy drops ``intervals`` and is read without the
    consolidated metadata that still lists it."""
    store = tmp_path / "upstream.nwb.zarr"
    shutil.copytree(SHARED / "upstream014" / "test_TimeIntervals.nwb.zarr", store)
    shutil.rmtree(store / "intervals")
    assert (store / "acquisition/a/data/c/0").is_file()
    source = SHARED / "real" / "dandi_nwb_test_data_v2.0.1" / "test_TimeIntervals.nwb"
    with NWBHDF5IO(str(source), "r") as h5, NWBZarrIO(str(store), mode="r-") as z:
        want, got = h5.read(), z.read()
        for name in ("a", "b"):
            np.testing.assert_array_equal(got.acquisition[name].data[()],
                                          want.acquisition[name].data[()])
            np.testing.assert_array_equal(got.acquisition[name].timestamps[()],
                                          want.acquisition[name].timestamps[()])
