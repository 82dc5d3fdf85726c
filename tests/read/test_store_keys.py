"""Every key the reader forms stays inside the store (issue 14 items 3 and 4): node names with
``..`` or empty components in consolidated metadata, and a ``.specloc`` leading out, are refused
with ``FormatError`` naming the document; the reader's key functions (``store_io.get_bytes``,
``get_many``, ``list_dir``, ``list_prefix``, used by every fast path) refuse such keys
whatever the store. Crafted stores are opened through Zarr's own ``LocalStore`` (which joins
root and key without checks) so that only the reader's checks are tested."""

import json
import shutil
import warnings

import numpy as np
import pytest
from pynwb import TimeSeries
from pynwb.testing.mock.file import mock_NWBFile
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import FormatError, HdmfZarrError
from hdmf_zarr.zarr_bridge import store_io

LAYOUTS = pytest.mark.parametrize("fmt", [2, 3], ids=["L2", "L3"])
HOSTILE_NAMES = ["../outside", "acquisition/../../outside", "a//b", "./x", "a/."]


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", "a/./b", "a/.."])
def test_reader_key_functions_refuse_keys_leaving_the_store(key):
    store = MemoryStore()
    sync(store.set("zarr.json", default_buffer_prototype().buffer.from_bytes(b"{}")))
    for call in (lambda: store_io.get_bytes(store, key),
                 lambda: store_io.get_json(store, key),
                 lambda: store_io.get_many(store, ["zarr.json", key]),
                 lambda: store_io.list_dir(store, key),
                 lambda: store_io.list_prefix(store, key)):
        with pytest.raises(FormatError, match="not a relative key"):
            call()
    assert store_io.get_bytes(store, "zarr.json") == b"{}"


def _store(tmp_path, fmt):
    nwb = mock_NWBFile()
    nwb.add_acquisition(TimeSeries(name="ts", data=np.arange(5.0), rate=1.0, unit="m"))
    path = tmp_path / "f.nwb.zarr"
    with NWBZarrIO(str(path), "w", zarr_format=fmt) as io:
        io.write(nwb)
    return path


def _plant_outside(tmp_path, path):
    """A scalar 'outside' the store whose value must never be read."""
    outside = tmp_path / "outside"
    shutil.copytree(path / "session_description", outside)
    return outside


def _read_all(path, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBZarrIO(LocalStore(str(path), read_only=True), mode) as io:
            nwb = io.read()
            return nwb.session_description, list(nwb.acquisition["ts"].data[:])


@LAYOUTS
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_consolidated_node_names_leaving_the_store_are_refused(tmp_path, fmt, name):
    path = _store(tmp_path, fmt)
    _plant_outside(tmp_path, path)
    if fmt == 3:
        root = json.loads((path / "zarr.json").read_text())
        md = root["consolidated_metadata"]["metadata"]
        md[name] = md.pop("session_description")
        (path / "zarr.json").write_text(json.dumps(root))
        document = "zarr.json"
    else:
        zmeta = json.loads((path / ".zmetadata").read_text())
        md = zmeta["metadata"]
        for leaf in (".zarray", ".zattrs"):
            if f"session_description/{leaf}" in md:
                md[f"{name}/{leaf}"] = md.pop(f"session_description/{leaf}")
        (path / ".zmetadata").write_text(json.dumps(zmeta))
        document = ".zmetadata"
    with pytest.raises(FormatError, match="consolidated metadata entry .* leaves the store") as exc:
        _read_all(path, "r")
    assert str(exc.value).startswith(document) and name in str(exc.value)
    # r- ignores consolidated metadata: the node documents in the store read as written
    assert _read_all(path, "r-")[1] == [0.0, 1.0, 2.0, 3.0, 4.0]


def _set_specloc(path, fmt, value):
    if fmt == 3:
        root = json.loads((path / "zarr.json").read_text())
        root["attributes"][".specloc"] = value
        if "consolidated_metadata" in root:
            del root["consolidated_metadata"]
        (path / "zarr.json").write_text(json.dumps(root))
    else:
        attrs = json.loads((path / ".zattrs").read_text())
        attrs[".specloc"] = value
        (path / ".zattrs").write_text(json.dumps(attrs))
        (path / ".zmetadata").unlink()


@LAYOUTS
@pytest.mark.parametrize("value", ["../outside_specs", "../../..", "specifications/../../x",
                                   "a//b"])
def test_specloc_leaving_the_store_is_refused(tmp_path, fmt, value):
    path = _store(tmp_path, fmt)
    # a complete copy of the cached specifications beside the store: never to be loaded
    shutil.copytree(path / "specifications", tmp_path / "outside_specs")
    _set_specloc(path, fmt, value)
    for mode in ("r", "r-"):
        with pytest.raises(HdmfZarrError, match="specloc") as exc, \
                NWBZarrIO(LocalStore(str(path), read_only=True), mode) as io:
            io.read()
        assert isinstance(exc.value, FormatError), mode
