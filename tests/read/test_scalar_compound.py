"""Scalar compound datasets read back as NWBHDF5IO returns them (issue 12 item 7).

``ElectrodeGroup.position`` (NWB >= 2.5) is a scalar compound of three float32 fields. HDF5IO
hands it out as a 0-d structured array; a bare ``np.void`` makes pynwb refuse the whole file.
"""

import numpy as np
import zarr
from pynwb import NWBHDF5IO
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO


def _file_with_position():
    nwbfile = mock_NWBFile()
    device = nwbfile.create_device("probe")
    nwbfile.create_electrode_group("shank0", description="d", location="CA1", device=device,
                                   position=(1.5, -2.0, 3.25))
    return nwbfile


def test_position_matches_nwbhdf5io(tmp_path):
    h5 = tmp_path / "eg.nwb"
    with NWBHDF5IO(h5, "w") as io:
        io.write(_file_with_position())
    with NWBHDF5IO(h5, "r") as io:
        expected = io.read().electrode_groups["shank0"].position
    zpath = tmp_path / "eg.nwb.zarr"
    with NWBZarrIO(str(zpath), "w") as io:  # L3: a 0-d structured array on disk
        io.write(_file_with_position())
    with NWBZarrIO(str(zpath), "r") as io:
        got = io.read().electrode_groups["shank0"].position
    assert isinstance(expected, np.ndarray) and expected.shape == ()
    assert isinstance(got, np.ndarray)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    assert got.tolist() == expected.tolist() == (1.5, -2.0, 3.25)


def test_position_after_export(tmp_path):
    """HDF5 -> L3 export -> read: a 0-d structured array, every field equal to HDF5's."""
    h5 = tmp_path / "eg.nwb"
    with NWBHDF5IO(h5, "w") as io:
        io.write(_file_with_position())
    zpath = tmp_path / "eg.nwb.zarr"
    with NWBHDF5IO(h5, "r") as src, NWBZarrIO(str(zpath), "w") as dst:
        dst.export(src_io=src, write_args={"link_data": False})
    with NWBHDF5IO(h5, "r") as src, NWBZarrIO(str(zpath), "r") as io:
        want = src.read().electrode_groups["shank0"].position
        got = io.read().electrode_groups["shank0"].position
        assert isinstance(got, np.ndarray) and got.shape == ()
        for name in want.dtype.names:
            assert got[name] == want[name]


def _to_struct_form(doc: dict) -> dict:
    """An array document rewritten into the form hdmf-zarr 0.14 writes with Zarr >= 3.2
    (FORMAT.md 3.4): ``struct``, object-style fields, per-field fill, little-endian bytes."""
    fields = doc["data_type"]["configuration"]["fields"]
    doc = dict(doc)
    doc["data_type"] = {"name": "struct", "configuration": {"fields": [
        {"name": n, "data_type": t} for n, t in fields]}}
    doc["fill_value"] = {n: 0.0 for n, _t in fields}
    doc["codecs"] = [{"name": "bytes", "configuration": {"endian": "little"}}] + [
        c for c in doc["codecs"] if c["name"] != "bytes"]
    return doc


def test_position_in_the_form_014_writes(tmp_path):
    """A 0-d ``struct`` array (0.14's ElectrodeGroup.position) reads as a 0-d structured
    array too."""
    import json

    zpath = tmp_path / "eg.nwb.zarr"
    with NWBZarrIO(str(zpath), "w") as io:
        io.write(_file_with_position())
    node = "general/extracellular_ephys/shank0/position"
    doc_path = zpath / node / "zarr.json"
    doc = json.loads(doc_path.read_text())
    # Zarr 3.1 writes ``structured`` (rewritten here); Zarr >= 3.2 writes ``struct`` itself
    assert doc["shape"] == [] and doc["data_type"]["name"] == (
        "structured" if zarr.__version__.startswith("3.1.") else "struct")
    if doc["data_type"]["name"] == "structured":
        doc_path.write_text(json.dumps(_to_struct_form(doc)))
        root = json.loads((zpath / "zarr.json").read_text())
        cons = root["consolidated_metadata"]["metadata"]
        cons[node] = _to_struct_form(cons[node])
        (zpath / "zarr.json").write_text(json.dumps(root))
    with NWBZarrIO(str(zpath), "r") as io:
        got = io.read().electrode_groups["shank0"].position
    assert isinstance(got, np.ndarray) and got.shape == ()
    assert got.tolist() == (1.5, -2.0, 3.25)


def test_position_l2_shape_one_reads_as_scalar(tmp_path):
    """L2 stores a scalar compound as shape [1] with no scalar marker (FORMAT.md 2.8); the spec
    says it is scalar, so it reads as the 0-d structured array HDF5IO returns."""
    zpath = tmp_path / "eg2.nwb.zarr"
    with NWBZarrIO(str(zpath), "w", zarr_format=2) as io:
        io.write(_file_with_position())
    with NWBZarrIO(str(zpath), "r") as io:
        got = io.read().electrode_groups["shank0"].position
        assert isinstance(got, np.ndarray) and got.shape == ()
        assert got.tolist() == (1.5, -2.0, 3.25)
