"""Every failure is a documented error naming the path (issue 14 item 12): crafted stores that
made raw exceptions escape the reader or ``hdmf-zarr info``."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numcodecs
import numpy as np
import pytest
from _reliability_common import edit_array_meta, read_all
from click.testing import CliRunner

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main as cli
from hdmf_zarr.errors import FormatError, HdmfZarrError
from hdmf_zarr.inspect import walk_store
from hdmf_zarr.storage import open_store

LEGACY_JSON = Path("/work/shared/data/legacy/ecephys_json_refs.nwb.zarr")
if not LEGACY_JSON.exists():  # the repository's own location of the shared data
    LEGACY_JSON = Path(__file__).resolve().parents[4] / "shared" / "data" / "legacy" / \
        "ecephys_json_refs.nwb.zarr"




def _zip_of(src, dst):
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zf:
        for root, _dirs, files in os.walk(src):
            for name in files:
                full = os.path.join(root, name)
                zf.write(full, os.path.relpath(full, src))
    return dst


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_zip_is_a_format_error_naming_the_file(store_copy, tmp_path, damage):
    path = tmp_path / "bad.zip"
    if damage == "garbage":
        path.write_bytes(os.urandom(4096))
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        good = _zip_of(store_copy(2), tmp_path / "good.zip")
        raw = good.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(HdmfZarrError) as info:
        with NWBZarrIO(str(path), "r") as io:
            io.read()
    assert isinstance(info.value, FormatError) and "bad.zip" in str(info.value)
    result = CliRunner().invoke(cli, ["info", str(path)])
    assert result.exit_code == 1 and "bad.zip" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_json2_filter_naming_a_non_text_encoding(tmp_path):
    store = tmp_path / "json.nwb.zarr"
    shutil.copytree(LEGACY_JSON, store)
    node = "units/electrode_group"

    def rot13(meta):
        for f in meta["filters"]:
            if f["id"] == "json2":
                f["encoding"] = "rot13"
    edit_array_meta(store, 2, node, rot13)
    with pytest.raises(FormatError, match="not a known text encoding") as info:
        read_all(store, "r")
    assert "/units/electrode_group" in str(info.value)


@pytest.mark.parametrize("edit,match", [
    (lambda d: d.update(chunk_grid="regular"), "chunk_grid"),
    (lambda d: d["chunk_grid"].update(configuration=[1]), "chunk_grid configuration"),
    (lambda d: d.update(codecs=[{"name": "sharding_indexed", "configuration": []}]),
     "sharding_indexed"),
    (lambda d: d.update(codecs={"name": "bytes"}), "codecs must be a list"),
    (lambda d: d.update(shape=[1.5, 2]), "shape"),
    (lambda d: d.update(data_type=7), "data_type"),
])
def test_info_and_reader_share_the_document_checks(store_copy, edit, match):
    store = store_copy(3)
    node = "acquisition/ts/data"
    edit_array_meta(store, 3, node, edit)
    for consolidated in (True, False):
        opened, _loc = open_store(str(store), mode="r")
        with pytest.raises(FormatError, match=match) as info:
            walk_store(opened, use_consolidated=consolidated)
        assert node in str(info.value)
    result = CliRunner().invoke(cli, ["info", str(store)])
    assert result.exit_code == 1 and node in result.output, result.output
    with pytest.raises(FormatError, match=match) as info:
        read_all(store, "r")
    assert node in str(info.value)


def test_l2_info_checks_documents_like_the_reader(store_copy):
    store = store_copy(2)
    edit_array_meta(store, 2, "acquisition/ts/data", lambda d: d.update(chunks="10"))
    opened, _loc = open_store(str(store), mode="r")
    with pytest.raises(FormatError, match="chunks") as info:
        walk_store(opened)
    assert "acquisition/ts/data" in str(info.value)


@pytest.mark.parametrize("fmt", [2, 3])
def test_float_vector_index_is_a_format_error(store_copy, fmt):
    store = store_copy(fmt)
    node = "intervals/epochs/tags_index"
    key = "0" if fmt == 2 else "c.0"
    if fmt == 2:
        meta = json.loads((store / node / ".zarray").read_text())
        codec = numcodecs.get_codec(meta["compressor"])
        values = np.frombuffer(codec.decode((store / node / key).read_bytes()), meta["dtype"])
        (store / node / key).write_bytes(codec.encode(values.astype("<f8") + 0.5))
        edit_array_meta(store, 2, node, lambda d: d.update(dtype="<f8"))
    else:
        meta = json.loads((store / node / "zarr.json").read_text())
        assert [c["name"] for c in meta["codecs"]] == ["bytes", "zstd"]
        codec = numcodecs.Zstd()
        values = np.frombuffer(codec.decode((store / node / key).read_bytes()), meta["data_type"])
        (store / node / key).write_bytes(codec.encode(values.astype("<f8") + 0.5))
        edit_array_meta(store, 3, node, lambda d: d.update(data_type="float64",
                                                            fill_value=0.0))
    for mode in ("r", "r-"):
        with pytest.raises(FormatError, match="VectorIndex must hold integers") as info:
            read_all(store, mode)
        assert "/intervals/epochs/tags_index" in str(info.value)
