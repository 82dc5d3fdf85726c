"""Crafted copies of the real legacy stores: a pickle that names a forbidden global, an unknown
codec. Reading never executes code, and the error names the array."""

import json
import pickle
import shutil
from pathlib import Path

import numcodecs
import pytest

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.errors import FormatError, UnknownCodecError, UnsafePickleError

LEGACY = Path(__file__).resolve().parents[3] / "shared" / "data" / "legacy"


class _Evil:
    """Pickles to ``os.system(<touch canary>)``."""

    def __init__(self, canary: Path):
        self.canary = canary

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.canary}",))


def _replace_chunk(array_dir: Path, payload: bytes) -> None:
    meta = json.loads((array_dir / ".zarray").read_text())
    if meta["compressor"] is not None:
        payload = numcodecs.get_codec(meta["compressor"]).encode(payload)
    (array_dir / "0").write_bytes(bytes(payload))


@pytest.fixture
def pickle_store(tmp_path):
    copy = tmp_path / "hostile.nwb.zarr"
    shutil.copytree(LEGACY / "ecephys_pickle_refs.nwb.zarr", copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return copy


def test_forbidden_global_in_reference_chunk(pickle_store, tmp_path):
    canary = tmp_path / "canary"
    _replace_chunk(pickle_store / "units/electrode_group", pickle.dumps(_Evil(canary), 5))
    with NWBZarrIO(str(pickle_store), "r") as io:
        nwbfile = io.read()  # lazy: the column is not decoded yet
        assert len(nwbfile.trials) == 4  # the rest of the file reads
        with pytest.raises(UnsafePickleError) as exc:
            nwbfile.units["electrode_group"][0]
    msg = str(exc.value)
    assert "/units/electrode_group" in msg
    assert "system" in msg
    assert not canary.exists()


def test_forbidden_global_in_compound_chunk(pickle_store, tmp_path):
    canary = tmp_path / "canary"
    _replace_chunk(pickle_store / "intervals/epochs/timeseries",
                   pickle.dumps(_Evil(canary), 5))
    with NWBZarrIO(str(pickle_store), "r") as io:
        nwbfile = io.read()
        with pytest.raises(UnsafePickleError, match="/intervals/epochs/timeseries"):
            nwbfile.epochs.to_dataframe()
    assert not canary.exists()


def test_forbidden_global_in_cached_spec(pickle_store, tmp_path):
    canary = tmp_path / "canary"
    spec = pickle_store / "specifications/core/2.11.0/namespace"
    meta = json.loads((spec / ".zarray").read_text())
    meta["filters"] = [{"id": "pickle", "protocol": 5}]
    (spec / ".zarray").write_text(json.dumps(meta))
    (spec / "0").write_bytes(pickle.dumps(_Evil(canary), 5))
    # namespace loading happens in the constructor
    with pytest.raises(UnsafePickleError, match="/specifications/core/2.11.0/namespace"):
        NWBZarrIO(str(pickle_store), "r-")
    assert not canary.exists()


def test_unknown_codec_names_the_array(pickle_store):
    array_dir = pickle_store / "acquisition/es/data"
    meta = json.loads((array_dir / ".zarray").read_text())
    meta["compressor"] = {"id": "no-such-codec"}
    (array_dir / ".zarray").write_text(json.dumps(meta))
    with NWBZarrIO(str(pickle_store), "r-") as io, \
            pytest.raises((UnknownCodecError, FormatError)) as exc:
        io.read()
    assert "/acquisition/es/data" in str(exc.value)
    assert "no-such-codec" in str(exc.value)


def test_unknown_object_codec_names_the_array(pickle_store):
    array_dir = pickle_store / "units/electrode_group"
    meta = json.loads((array_dir / ".zarray").read_text())
    meta["filters"] = [{"id": "mystery-object-codec"}]
    (array_dir / ".zarray").write_text(json.dumps(meta))
    with NWBZarrIO(str(pickle_store), "r-") as io, pytest.raises(UnknownCodecError) as exc:
        io.read()
    assert "/units/electrode_group" in str(exc.value)
