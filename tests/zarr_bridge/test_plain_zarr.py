"""Plain Zarr-Python 3 reads every array of L2 stores (issue 13, "L2 in plain zarr").

A subprocess that never imports hdmf_zarr opens converted real files (L2) and the stores of
hdmf-zarr 0.13 with ``zarr.open_group`` and reads every array; each value must equal what this
package's own L2 reader (``ObjectArrayV2``, which decodes the store bytes itself) returns.
Having the package installed is enough: its entry points register the data types.
"""

import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from hdmf_zarr import NWBZarrIO
from hdmf_zarr.zarr_bridge.object_array import ObjectArrayV2, is_object_array_v2

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LEGACY = [DATA / "legacy" / "ecephys_pickle_refs.nwb.zarr",
          DATA / "legacy" / "ecephys_json_refs.nwb.zarr"]
REAL = [DATA / "real" / "dandi_nwb_test_data_v2.0.1" / f"test_{n}.nwb"
        for n in ("TimeIntervals", "Units", "PlaneSegmentation", "ElectricalSeries",
                  "timestamps_linking")]
REAL += [DATA / "real" / "neuroconv" / "ecephys_tutorial_v2.5.0.nwb"]

_READ_ALL = r"""
import json, math, sys
import numpy as np
import zarr
assert "hdmf_zarr" not in sys.modules

def plain(v):
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()] if v.ndim else plain(v[()])
    if isinstance(v, np.generic):
        return plain(v.item())
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in sorted(v.items())}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v

out = {}
for root in sys.argv[1:]:
    group = zarr.open_group(root, mode="r")
    arrays = {}
    def walk(g, prefix):
        for name, a in g.arrays():
            arrays[prefix + name] = plain(a[...])
        for name, sub in g.groups():
            walk(sub, prefix + name + "/")
    walk(group, "")
    out[root] = arrays
print(json.dumps(out))
"""


def _plain(v):
    """The same normalization as the subprocess, for values read here."""
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()] if v.ndim else _plain(v[()])
    if isinstance(v, np.generic):
        return _plain(v.item())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in sorted(v.items())}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def _expected(root: Path) -> dict:
    """Every array of an L2 store read by this package: object arrays through ObjectArrayV2,
    plain arrays from their chunks with numcodecs and numpy (no Zarr)."""
    import numcodecs

    from hdmf_zarr.storage import open_store

    store, _location = open_store(str(root), mode="r")
    out = {}
    for zarray in sorted(root.rglob(".zarray")):
        node = zarray.parent.relative_to(root).as_posix()
        meta = json.loads(zarray.read_text())
        if is_object_array_v2(meta):
            out[node] = _plain(ObjectArrayV2(store, node, meta)[...])
            continue
        dtype = np.dtype([tuple(f) for f in meta["dtype"]] if isinstance(meta["dtype"], list)
                         else meta["dtype"])
        shape, chunks = tuple(meta["shape"]), tuple(meta["chunks"])
        sep = meta.get("dimension_separator") or "."
        full = np.zeros(shape, dtype=dtype)
        grid = [range(-(-s // c)) for s, c in zip(shape, chunks)]
        for idx in np.ndindex(*[len(g) for g in grid]):
            key = zarray.parent / (sep.join(map(str, idx)) if idx else "0")
            if not key.exists():
                continue  # the fill value: every fill in these stores is zero
            raw = key.read_bytes()
            if meta.get("compressor"):
                raw = numcodecs.get_codec(meta["compressor"]).decode(raw)
            for f in reversed(meta.get("filters") or []):
                raw = numcodecs.get_codec(f).decode(raw)
            block = np.frombuffer(bytes(raw), dtype=dtype).reshape(chunks, order=meta["order"])
            sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape))
            full[sl] = block[tuple(slice(0, x.stop - x.start) for x in sl)]
        out[node] = _plain(full)
    return out


def _read_in_plain_zarr(roots, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _READ_ALL, *map(str, roots)],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = []
    base = tmp_path_factory.mktemp("l2")
    for src in REAL:
        assert src.is_file(), src
        dst = base / (src.stem + ".nwb.zarr")
        with NWBHDF5IO(str(src), "r") as hio, NWBZarrIO(str(dst), "w", zarr_format=2) as zio:
            zio.export(src_io=hio, write_args={"link_data": False})
        out.append(dst)
    return out


def test_plain_zarr_reads_every_l2_array(converted):
    roots = LEGACY + converted
    for root in LEGACY:
        assert (root / ".zgroup").is_file(), root
    run = _read_in_plain_zarr(roots)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    for root in roots:
        want = _expected(root)
        have = got[str(root)]
        assert set(have) == set(want), root
        assert want, root
        for node in want:
            assert have[node] == want[node], f"{root}: {node}"
    # spot values from the legacy stores' README, read by plain Zarr
    for root in LEGACY:
        arrays = got[str(root)]
        assert arrays["intervals/trials/stim"] == [f"stimulus é{i}" for i in range(4)]
        assert arrays["intervals/trials/correct"] == [False, True, False, True]
        rows = arrays["intervals/epochs/timeseries"]
        assert [r[2]["path"] for r in rows] == ["/acquisition/es", "/acquisition/es",
                                                "/acquisition/lick"]


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ["HDMF_ZARR_TEST_MARKER"],))


def test_pickle_arrays_never_reach_a_general_unpickler(tmp_path):
    """Even with numcodecs' unsafe opt-in set, a pickle naming another global is refused."""
    marker = tmp_path / "ran"
    store = tmp_path / "evil.zarr"
    (store / "a").mkdir(parents=True)
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    (store / "a" / ".zarray").write_text(json.dumps(
        {"zarr_format": 2, "shape": [1], "chunks": [1], "dtype": "|O", "fill_value": 0,
         "order": "C", "compressor": None, "filters": [{"id": "pickle", "protocol": 5}]}))
    os.environ["HDMF_ZARR_TEST_MARKER"] = str(marker)
    try:
        payload = pickle.dumps(np.array([_Evil()], dtype=object), protocol=5)
    finally:
        del os.environ["HDMF_ZARR_TEST_MARKER"]
    (store / "a" / "0").write_bytes(payload)
    env = dict(os.environ, NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE="1",
               HDMF_ZARR_TEST_MARKER=str(marker))
    run = _read_in_plain_zarr([store], env=env)
    assert run.returncode != 0
    assert "UnsafePickleError" in run.stderr and "posix.system" in run.stderr
    assert not marker.exists()
