"""read.early: which chunks are fetched with the cached specifications (issue 16)."""

import copy
import json
import warnings

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.format.select import layout_for
from hdmf_zarr.read import early
from hdmf_zarr.read.early import early_chunk_keys
from hdmf_zarr.read.specs import consolidated_documents


@pytest.fixture(scope="module", params=[2, 3], ids=["L2", "L3"])
def written(request, tmp_path_factory):
    nwb = mock_NWBFile(institution="somewhere", experimenter=["Ada"])
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(100.0), rate=1.0, unit="m"))
    nwb.add_acquisition(TimeSeries(name="one", data=[5.0], rate=1.0, unit="m"))
    for i in range(3):
        nwb.add_unit(spike_times=np.arange(i + 1) * 0.1)
    path = tmp_path_factory.mktemp("early") / "f.nwb.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(str(path), "w", zarr_format=request.param) as io:
            io.write(nwb)
    root = json.loads((path / ("zarr.json" if request.param == 3 else ".zmetadata")).read_text())
    docs = consolidated_documents({"zarr.json" if request.param == 3 else ".zmetadata": root})
    return request.param, docs


def _chunk(fmt, path, ndim):
    """Key of chunk 0 as written (L3: default encoding with "." separators, FORMAT.md 3.3;
    L2: "0.0...", 2.2)."""
    if fmt == 3:
        return path + "/c" + ".0" * ndim
    return path + "/" + (".".join("0" for _ in range(ndim)) if ndim else "0")


def test_scalars_ids_regions_and_untyped_text_are_chosen(written):
    fmt, docs = written
    layout = layout_for(fmt)
    keys = early_chunk_keys(docs, layout, "specifications")
    scalar_ndim = 0 if fmt == 3 else 1
    assert _chunk(fmt, "general/institution", scalar_ndim) in keys
    assert _chunk(fmt, "acquisition/ts/starting_time", scalar_ndim) in keys
    assert _chunk(fmt, "units/id", 1) in keys
    assert _chunk(fmt, "general/experimenter", 1) in keys
    # one element: fetched (a scalar or not, it costs one tiny request)
    assert _chunk(fmt, "acquisition/one/data", 1) in keys
    # typed data of more than one element, ragged columns and their indexes: not
    assert not [k for k in keys if k.startswith(("acquisition/ts/data/", "units/spike_times"))]
    assert not [k for k in keys if k.startswith("specifications/")]
    assert len(keys) == len(set(keys))


def test_sharded_multi_chunk_and_large_arrays_are_left_out(written, monkeypatch):
    fmt, docs = written
    layout = layout_for(fmt)
    docs = copy.deepcopy(docs)
    key = layout.consolidated_array_key("units/id")
    assert _chunk(fmt, "units/id", 1) in early_chunk_keys(docs, layout)
    meta = docs[key]
    # several chunks
    many = copy.deepcopy(meta)
    if fmt == 3:
        many["chunk_grid"]["configuration"]["chunk_shape"] = [1]
    else:
        many["chunks"] = [1]
    docs[key] = many
    assert _chunk(fmt, "units/id", 1) not in early_chunk_keys(docs, layout)
    if fmt == 3:  # sharded: a shard is read in byte ranges, never whole
        sharded = copy.deepcopy(meta)
        sharded["codecs"] = [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [1], "codecs": meta["codecs"], "index_codecs": [
                {"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": "end"}}]
        docs[key] = sharded
        assert _chunk(fmt, "units/id", 1) not in early_chunk_keys(docs, layout)
    docs[key] = meta
    monkeypatch.setattr(early, "EARLY_DATASET_BYTES", 8)  # 3 ids of 8 bytes: too large
    assert _chunk(fmt, "units/id", 1) not in early_chunk_keys(docs, layout)
    monkeypatch.setattr(early, "EARLY_DATASET_BYTES", 2**16)
    monkeypatch.setattr(early, "EARLY_TOTAL_BYTES", 8)
    assert len(early_chunk_keys(docs, layout)) == 1


def test_a_path_leaving_the_store_is_not_fetched(written):
    fmt, docs = written
    layout = layout_for(fmt)
    docs = copy.deepcopy(docs)
    key = layout.consolidated_array_key("general/institution")
    docs[layout.consolidated_array_key("../outside")] = docs[key]
    keys = early_chunk_keys(docs, layout)
    assert not [k for k in keys if ".." in k]
    assert _chunk(fmt, "general/institution", 0 if fmt == 3 else 1) in keys


def test_a_prefetch_budget_adds_small_datasets_up_to_the_budget(written):
    fmt, docs = written
    layout = layout_for(fmt)
    ts_data = _chunk(fmt, "acquisition/ts/data", 1)
    assert ts_data not in early_chunk_keys(docs, layout, "specifications")
    with_budget = early_chunk_keys(docs, layout, "specifications", prefetch=2**20)
    assert ts_data in with_budget
    assert set(early_chunk_keys(docs, layout, "specifications")) < set(with_budget)
    # 100 float64 = 800 bytes: a budget of 799 leaves the series out
    assert ts_data not in early_chunk_keys(docs, layout, "specifications", prefetch=799)


def test_empty_arrays_are_not_fetched(written):
    # no chunk holds an empty array: asking for one would only cost a request per array
    fmt, docs = written
    layout = layout_for(fmt)
    docs = copy.deepcopy(docs)
    meta = docs[layout.consolidated_array_key("units/id")]
    for i in range(5):
        empty = copy.deepcopy(meta)
        empty["shape"] = [0]
        docs[layout.consolidated_array_key(f"units/empty{i}")] = empty
    keys = early_chunk_keys(docs, layout)
    assert not [k for k in keys if k.startswith("units/empty")], keys
    assert _chunk(fmt, "units/id", 1) in keys
