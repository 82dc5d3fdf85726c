"""``hdmf-zarr convert`` with the large-data options --chunks, --shards, --compressor, --jobs
and --progress/--no-progress (cli.py; docs/large-data.md "Command line")."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pynwb import NWBHDF5IO
from pynwb.testing.mock.ecephys import mock_ElectricalSeries, mock_ElectrodesTable
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr.cli import main
from hdmf_zarr.nwb import NWBZarrIO
from roundtrip._compare import assert_container_equal

NODE = "acquisition/es/data"
# int32, 40000 x 8 = 1.28 MB: a "large" dataset (>= 1 MiB) for the options
DATA = (np.arange(40_000 * 8, dtype="<i4").reshape(40_000, 8) * 13) % 100_003


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "src.nwb"
    nwbfile = mock_NWBFile()
    table = mock_ElectrodesTable(n_rows=8, nwbfile=nwbfile)
    region = nwbfile.create_electrode_table_region(list(range(8)), "all")
    mock_ElectricalSeries(name="es", data=DATA, rate=30000.0, electrodes=region,
                          nwbfile=nwbfile)
    assert table is nwbfile.electrodes
    with NWBHDF5IO(str(path), mode="w") as io:
        io.write(nwbfile)
    return path


def run(*args):
    return CliRunner().invoke(main, ["convert", *[str(a) for a in args]])


def _doc(dst) -> dict:
    d = Path(dst) / NODE
    name = "zarr.json" if (d / "zarr.json").is_file() else ".zarray"
    return json.loads((d / name).read_text())


def _objects(dst) -> list:
    d = Path(dst) / NODE
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*")
                  if p.is_file() and not p.name.startswith((".z", "zarr.json")))


def _check_values(src, dst):
    with NWBHDF5IO(str(src), mode="r") as h5, NWBZarrIO(str(dst), mode="r") as zio:
        expected, actual = h5.read(), zio.read()
        np.testing.assert_array_equal(actual.acquisition["es"].data[()], DATA)
        assert_container_equal(expected, actual)


def test_l3_chunks_shards_compressor_jobs(source, tmp_path):
    dst = tmp_path / "out.nwb.zarr"
    result = run(source, dst, "--chunks", "1000,8", "--shards", "10000,8", "--compressor",
                 "blosc:zstd:3:bitshuffle", "--jobs", "2", "--progress")
    assert result.exit_code == 0, result.output
    doc = _doc(dst)
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [10000, 8]
    (sharding,) = doc["codecs"]
    assert sharding["name"] == "sharding_indexed"
    conf = sharding["configuration"]
    assert conf["chunk_shape"] == [1000, 8]
    assert conf["codecs"][1] == {"name": "blosc", "configuration": {
        "typesize": 4, "cname": "zstd", "clevel": 3, "shuffle": "bitshuffle", "blocksize": 0}}
    assert _objects(dst) == ["c.0.0", "c.1.0", "c.2.0", "c.3.0"]
    # the progress bar of the parallel write names the dataset
    assert "/acquisition/es/data" in result.stderr
    _check_values(source, dst)


def test_l2_chunks_compressor_jobs_no_progress(source, tmp_path):
    dst = tmp_path / "out2.nwb.zarr"
    result = run(source, dst, "--zarr-format", "2", "--chunks", "5000,8", "--compressor",
                 "zstd:3", "--jobs", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    doc = _doc(dst)
    assert doc["chunks"] == [5000, 8]
    assert doc["compressor"] == {"id": "zstd", "level": 3}
    assert len(_objects(dst)) == 8
    assert result.stderr == ""  # no bar at all: neither the dataset's nor the stages'
    _check_values(source, dst)


def test_chunks_are_clipped_and_shards_none(source, tmp_path):
    dst = tmp_path / "out3.nwb.zarr"
    result = run(source, dst, "--chunks", "100000,64", "--shards", "none", "--compressor",
                 "none")
    assert result.exit_code == 0, result.output
    doc = _doc(dst)
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [40000, 8]
    assert doc["codecs"] == [{"name": "bytes", "configuration": {"endian": "little"}}]
    assert _objects(dst) == ["c.0.0"]
    _check_values(source, dst)


@pytest.mark.parametrize("args, message", [
    (["--zarr-format", "2", "--shards", "1000,8"], "--shards needs layout L3"),
    (["--chunks", "0,8"], "--chunks: '0,8' must list positive integers"),
    (["--chunks", "a,b"], "is not a comma-separated list of integers"),
    (["--compressor", "brotli"], "--compressor: 'brotli' is not one of"),
    # numcodecs takes these levels and fails only on a large chunk (or from C, for Blosc)
    (["--compressor", "zstd:99"], "--compressor: 'zstd:99': zstd level 99 is outside "
                                  "-131072..22"),
    (["--compressor", "blosc:zstd:99"], "blosc level 99 is outside 0..9"),
    (["--compressor", "gzip:10"], "gzip level 10 is outside 0..9"),
    (["--compressor", "zlib:fast"], "level 'fast' is not an integer"),
    (["--compressor", "blosc:brotli"], "blosc compressor 'brotli' is not one of blosclz, lz4"),
    (["--compressor", "blosc:lz4:5:sideways"], "shuffle 'sideways' is not one of noshuffle"),
    (["--jobs", "0"], "0 is not in the range x>=1"),
])
def test_usage_errors(source, tmp_path, args, message):
    dst = tmp_path / "bad.nwb.zarr"
    result = run(source, dst, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not dst.exists()


@pytest.mark.parametrize("spec", ["zstd:99", "blosc:zstd:99"])
def test_bad_levels_write_nothing_and_print_no_codec_error(source, tmp_path, spec):
    dst = tmp_path / "bad.nwb.zarr"
    result = run(source, dst, "--compressor", spec)
    assert result.exit_code == 2 and not dst.exists()
    assert "RuntimeError" not in result.output and "Traceback" not in result.output
    assert "FORMAT.md" not in result.output


def test_options_for_hdf5_destination_refused(tmp_path):
    zarr_src = tmp_path / "z.nwb.zarr"
    with NWBZarrIO(str(zarr_src), mode="w") as io:
        io.write(mock_NWBFile())
    result = run(zarr_src, tmp_path / "back.nwb", "--chunks", "10,8", "--jobs", "2")
    assert result.exit_code == 2
    assert "--chunks, --jobs apply to a Zarr destination only" in result.output


def test_shards_not_multiple_of_chunks_names_the_dataset(source, tmp_path):
    dst = tmp_path / "bad.nwb.zarr"
    result = run(source, dst, "--chunks", "1000,8", "--shards", "1500,8")
    assert result.exit_code == 1
    assert re.search(r"/acquisition/es/data: shard shape \(1500, 8\) is not a multiple of the "
                     r"chunk shape \(1000, 8\)", result.output), result.output
    assert "FORMAT.md" not in result.output  # users do not have the project's format notes
    assert not dst.exists()  # the partial output is removed
