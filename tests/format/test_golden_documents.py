"""The documents we write follow FORMAT.md section 7 (worked example), checked by reading the
store with plain JSON, numcodecs and zarr, never through hdmf_zarr's reader."""

import json
from datetime import UTC, datetime
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr
from pynwb import NWBFile
from pynwb.ecephys import ElectricalSeries

from hdmf_zarr import NWBZarrIO


def _worked_example() -> NWBFile:
    """FORMAT.md 7: es int16 [10,4] with starting_time, electrodes region, shank0 -> probe,
    the electrodes table's group column, epochs with one compound-with-reference row."""
    nwb = NWBFile(session_description="d", identifier="id",
                  session_start_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    probe = nwb.create_device(name="probe")
    shank0 = nwb.create_electrode_group(name="shank0", description="sh", location="CA1",
                                        device=probe)
    for _ in range(4):
        nwb.add_electrode(group=shank0, location="CA1")
    region = nwb.create_electrode_table_region(region=[0, 1, 2, 3], description="all")
    es = ElectricalSeries(name="es", data=np.arange(40, dtype=np.int16).reshape(10, 4),
                          electrodes=region, rate=30000.0)
    nwb.add_acquisition(es)
    nwb.add_epoch(start_time=0.0, stop_time=1.0, timeseries=[es])
    return nwb


@pytest.fixture(scope="module")
def l2_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden") / "l2.nwb.zarr"
    nwb = _worked_example()
    with NWBZarrIO(str(path), "w", zarr_format=2) as io:
        io.write(nwb)
    return path, nwb


@pytest.fixture(scope="module")
def l3_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden") / "l3.nwb.zarr"
    nwb = _worked_example()
    with NWBZarrIO(str(path), "w", zarr_format=3) as io:
        io.write(nwb)
    return path, nwb


def _json(path: Path):
    return json.loads(path.read_text())


def _v2_chunk(path: Path, key: str) -> bytes:
    meta = _json(path / ".zarray")
    raw = (path / key).read_bytes()
    if meta["compressor"] is not None:
        raw = numcodecs.get_codec(meta["compressor"]).decode(raw)
    return bytes(raw)


# ----------------------------------------------------------------------------- L2 (7.1)
def test_l2_root_and_consolidated(l2_store):
    path, nwb = l2_store
    assert _json(path / ".zgroup") == {"zarr_format": 2}
    root = _json(path / ".zattrs")
    assert root[".specloc"] == "specifications"
    assert root["namespace"] == "core" and root["neurodata_type"] == "NWBFile"
    assert root["object_id"] == nwb.object_id
    assert root["nwb_version"].startswith("2.")
    zmeta = _json(path / ".zmetadata")
    assert zmeta["zarr_consolidated_format"] == 1
    md = zmeta["metadata"]
    for key in (".zgroup", ".zattrs", "acquisition/.zgroup", "acquisition/es/data/.zarray",
                "acquisition/es/data/.zattrs"):
        assert key in md
    assert md["acquisition/es/data/.zarray"] == _json(path / "acquisition/es/data/.zarray")
    # untyped groups have no attributes document
    assert not (path / "acquisition/.zattrs").exists()


def test_l2_link_on_parent_group(l2_store):
    path, nwb = l2_store
    attrs = _json(path / "general/extracellular_ephys/shank0/.zattrs")
    assert attrs["zarr_link"] == [{"name": "device", "source": ".",
                                   "path": "/general/devices/probe"}]
    assert attrs["neurodata_type"] == "ElectrodeGroup"
    assert attrs["description"] == "sh" and attrs["location"] == "CA1"
    assert not (path / "general/extracellular_ephys/shank0/device").exists()


def test_l2_region_with_reference_attribute(l2_store):
    path, nwb = l2_store
    node = path / "acquisition/es/electrodes"
    assert _json(node / ".zarray")["dtype"] == "<i8"
    attrs = _json(node / ".zattrs")
    assert attrs["zarr_dtype"] == "int64"
    assert attrs["_ARRAY_DIMENSIONS"] == ["num_rows"]
    assert attrs["table"] == {
        "value": {"source": ".", "path": "/general/extracellular_ephys/electrodes",
                  "object_id": nwb.electrodes.object_id, "source_object_id": nwb.object_id},
        "zarr_dtype": "object"}
    assert list(attrs["table"]["value"]) == ["source", "path", "object_id", "source_object_id"]


def test_l2_scalar(l2_store):
    path, _ = l2_store
    node = path / "acquisition/es/starting_time"
    meta = _json(node / ".zarray")
    assert meta["shape"] == [1] and meta["chunks"] == [1] and meta["dtype"] == "<f8"
    attrs = _json(node / ".zattrs")
    assert attrs == {"rate": 30000.0, "unit": "seconds", "zarr_dtype": "scalar"}
    assert np.frombuffer(_v2_chunk(node, "0"), "<f8")[0] == 0.0


def test_l2_numeric_data_default_codec(l2_store):
    path, _ = l2_store
    node = path / "acquisition/es/data"
    meta = _json(node / ".zarray")
    assert meta["dtype"] == "<i2" and meta["filters"] is None and meta["shape"] == [10, 4]
    assert meta["compressor"] == {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1,
                                  "blocksize": 0}
    values = np.frombuffer(_v2_chunk(node, "0.0"), "<i2").reshape(meta["chunks"])
    assert np.array_equal(values[:10, :4], np.arange(40, dtype=np.int16).reshape(10, 4))


def test_l2_reference_dataset_json2(l2_store):
    path, nwb = l2_store
    node = path / "general/extracellular_ephys/electrodes/group"
    meta = _json(node / ".zarray")
    assert meta["dtype"] == "|O" and meta["shape"] == [4]
    assert meta["filters"] == [{"id": "json2", "allow_nan": True, "check_circular": True,
                                "encoding": "utf-8", "ensure_ascii": True, "indent": None,
                                "separators": [",", ":"], "skipkeys": False,
                                "sort_keys": True, "strict": True}]
    attrs = _json(node / ".zattrs")
    assert attrs["zarr_dtype"] == "object" and attrs["neurodata_type"] == "VectorData"
    # the spec's placeholder dim0 is stored per dataset (write/dimensions.py), not as "dim0"
    assert attrs["_ARRAY_DIMENSIONS"] == ["group_dim_0"]
    decoded = json.loads(_v2_chunk(node, "0").decode("utf-8"))
    assert decoded[-2:] == ["|O", [4]]
    shank = nwb.electrode_groups["shank0"]
    assert decoded[:-2] == [{"object_id": shank.object_id,
                             "path": "/general/extracellular_ephys/shank0", "source": ".",
                             "source_object_id": nwb.object_id}] * 4


def test_l2_compound_with_reference_pickle(l2_store):
    path, nwb = l2_store
    node = path / "intervals/epochs/timeseries"
    meta = _json(node / ".zarray")
    assert meta["dtype"] == [["idx_start", "<i4"], ["count", "<i4"], ["timeseries", "|O"]]
    assert meta["fill_value"] is None
    assert meta["filters"] == [{"id": "pickle", "protocol": 5}]
    attrs = _json(node / ".zattrs")
    assert attrs["zarr_dtype"] == [{"name": "idx_start", "dtype": "int32"},
                                   {"name": "count", "dtype": "int32"},
                                   {"name": "timeseries", "dtype": "object"}]
    from hdmf_zarr.format.safe_pickle import restricted_loads

    rows = restricted_loads(_v2_chunk(node, "0"), array_path="/intervals/epochs/timeseries")
    row = rows[0]
    expected = nwb.epochs["timeseries"].target.data[0]
    assert (int(row["idx_start"]), int(row["count"])) == (expected[0], expected[1])
    assert row["timeseries"]["path"] == "/acquisition/es"
    assert row["timeseries"]["source"] == "."


def test_l2_cached_spec(l2_store):
    path, _ = l2_store
    node = path / "specifications/core"
    versions = [p.name for p in node.iterdir() if p.is_dir()]
    assert len(versions) == 1
    spec = node / versions[0] / "namespace"
    meta = _json(spec / ".zarray")
    assert meta["shape"] == [1] and meta["chunks"] == [1] and meta["compressor"] is None
    assert meta["dtype"] == "|O" and meta["filters"][0]["id"] == "json2"
    assert _json(spec / ".zattrs") == {"zarr_dtype": "scalar"}
    text, dtype, shape = json.loads((spec / "0").read_text())
    assert (dtype, shape) == ("|O", [1])
    assert json.loads(text)["namespaces"][0]["name"] == "core"


def test_l2_text_and_datetime_codecs(l2_store):
    path, _ = l2_store
    meta = _json(path / "session_start_time/.zarray")
    assert meta["dtype"] == "|O" and meta["filters"] == [{"id": "vlen-bytes"}]
    assert _json(path / "session_start_time/.zattrs")["zarr_dtype"] == "scalar"
    raw = _v2_chunk(path / "session_start_time", "0")
    (count,) = np.frombuffer(raw[:4], "<u4")
    (length,) = np.frombuffer(raw[4:8], "<u4")
    assert count == 1 and raw[8:8 + length] == b"2024-01-02T03:04:05+00:00"
    loc = _json(path / "general/extracellular_ephys/electrodes/location/.zarray")
    assert loc["filters"] == [{"id": "vlen-utf8"}]
    values = zarr.open_array(str(path / "general/extracellular_ephys/electrodes/location"),
                             mode="r", zarr_format=2)[:]
    assert [str(v) for v in values] == ["CA1"] * 4


# ----------------------------------------------------------------------------- L3 (7.2)
def test_l3_root_consolidated(l3_store):
    path, nwb = l3_store
    root = _json(path / "zarr.json")
    assert root["zarr_format"] == 3 and root["node_type"] == "group"
    attrs = root["attributes"]
    assert attrs[".specloc"] == "specifications"
    assert attrs["neurodata_type"] == "NWBFile" and attrs["object_id"] == nwb.object_id
    cons = root["consolidated_metadata"]
    assert cons["kind"] == "inline" and cons["must_understand"] is False
    assert cons["metadata"]["acquisition/es/data"] == _json(path / "acquisition/es/data/zarr.json")
    # zarr itself opens the consolidated hierarchy
    group = zarr.open_group(str(path), mode="r", use_consolidated=True)
    assert group["acquisition/es/data"].shape == (10, 4)


def test_l3_chunk_keys_use_the_dot_separator(l3_store):
    """FORMAT.md 3.1: ``c.i.j`` keys (changed from ``c/i/j`` so that deep NWB paths stay within
    DANDI's 7 path components); 0-d arrays keep the single key ``c``."""
    path, _ = l3_store
    dot = {"name": "default", "configuration": {"separator": "."}}
    for node, chunk in (("acquisition/es/data", "c.0.0"), ("acquisition/es/electrodes", "c.0"),
                        ("general/extracellular_ephys/electrodes/group", "c.0"),
                        ("intervals/epochs/timeseries", "c.0"),
                        ("acquisition/es/starting_time", "c")):
        assert _json(path / node / "zarr.json")["chunk_key_encoding"] == dot, node
        assert (path / node / chunk).is_file(), node
        assert not (path / node / "c").is_dir(), node
    np.testing.assert_array_equal(zarr.open_array(str(path / "acquisition/es/data"), mode="r")[:],
                                  np.arange(40, dtype=np.int16).reshape(10, 4))


def test_l3_links(l3_store):
    path, _ = l3_store
    attrs = _json(path / "general/extracellular_ephys/shank0/zarr.json")["attributes"]
    assert attrs["_LINKS"] == [{"name": "device", "source": ".",
                                "path": "/general/devices/probe"}]


def test_l3_region_reference_attribute(l3_store):
    path, _ = l3_store
    doc = _json(path / "acquisition/es/electrodes/zarr.json")
    assert doc["data_type"] == "int64" and doc["dimension_names"] == ["num_rows"]
    attrs = doc["attributes"]
    assert attrs["_DTYPE"] == "int64" and attrs["_ARRAY_DIMENSIONS"] == ["num_rows"]
    assert attrs["table"] == {"_REFERENCE": {"source": ".",
                                             "path": "/general/extracellular_ephys/electrodes"}}


def test_l3_scalar_is_0d(l3_store):
    path, _ = l3_store
    doc = _json(path / "acquisition/es/starting_time/zarr.json")
    assert doc["shape"] == [] and doc["data_type"] == "float64"
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == []
    assert doc["attributes"] == {"rate": 30000.0, "unit": "seconds", "_DTYPE": "float64"}
    assert (path / "acquisition/es/starting_time/c").is_file()
    assert zarr.open_array(str(path / "acquisition/es/starting_time"), mode="r")[()] == 0.0


def test_l3_reference_dataset_paths(l3_store):
    path, _ = l3_store
    node = path / "general/extracellular_ephys/electrodes/group"
    doc = _json(node / "zarr.json")
    assert doc["data_type"] == "string" and doc["attributes"]["_DTYPE"] == "object_reference"
    # the spec's placeholder dim0 is stored per dataset (write/dimensions.py), not as "dim0"
    assert doc["dimension_names"] == doc["attributes"]["_ARRAY_DIMENSIONS"] == ["group_dim_0"]
    values = zarr.open_array(str(node), mode="r")[:]
    assert [str(v) for v in values] == ["/general/extracellular_ephys/shank0"] * 4


def test_l3_compound_with_reference(l3_store):
    path, nwb = l3_store
    node = path / "intervals/epochs/timeseries"
    doc = _json(node / "zarr.json")
    assert doc["data_type"] == {"name": "structured", "configuration": {"fields": [
        ["idx_start", "int32"], ["count", "int32"],
        ["timeseries", {"name": "fixed_length_utf32", "configuration": {"length_bytes": 2048}}]]}}
    assert doc["attributes"]["_REFERENCE_FIELDS"] == ["timeseries"]
    assert "_DTYPE" not in doc["attributes"]
    row = zarr.open_array(str(node), mode="r")[0]
    expected = nwb.epochs["timeseries"].target.data[0]
    assert (int(row["idx_start"]), int(row["count"]), str(row["timeseries"])) == \
        (expected[0], expected[1], "/acquisition/es")


def test_l3_cached_spec_is_0d_text(l3_store):
    path, _ = l3_store
    node = path / "specifications/core"
    (version,) = [p for p in node.iterdir() if p.is_dir()]
    doc = _json(version / "namespace/zarr.json")
    assert doc["shape"] == [] and doc["data_type"] == "string" and doc["attributes"] == {}
    text = zarr.open_array(str(version / "namespace"), mode="r")[()]
    assert json.loads(str(text))["namespaces"][0]["name"] == "core"
