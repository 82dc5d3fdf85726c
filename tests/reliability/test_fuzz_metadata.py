"""Fuzzing the reader with mutated copies of a small NWB file (issue "Reliability and security").

A small NWB file (TimeSeries, ElectricalSeries with electrodes table and references, epochs with
a compound-with-references column, a soft link, cached specs) is written once per layout. Every
hypothesis example copies it, mutates one thing (a metadata document, a reserved attribute, a
chunk or a reference element), then opens it in modes ``r`` and ``r-``, reads it and touches
everything, in a worker process with a capped address space and an alarm per case.

Only the package's documented errors (subclasses of ``HdmfZarrError``, message naming the object
path) may escape; anything else, a timeout, a ``MemoryError`` or a dead worker fails the example.

``HDMF_ZARR_FUZZ_EXAMPLES`` sets the number of examples per test (default 40, 320 cases in all;
e.g. 5000 by hand)
and ``HDMF_ZARR_FUZZ_REPORT`` names a JSON-lines file that receives every case's outcome (used
for ``docs/reliability.md``).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from _reliability_common import (
    attribute_homes,
    chunk_files,
    edit_json,
    load_json,
    node_documents,
    write_store,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("HDMF_ZARR_FUZZ_EXAMPLES", "40"))
REPORT = os.environ.get("HDMF_ZARR_FUZZ_REPORT")
#: record outcomes without failing (to survey many cases by hand)
SURVEY = os.environ.get("HDMF_ZARR_FUZZ_SURVEY") == "1"
CASE_TIMEOUT = 20  # seconds per mode, enforced by SIGALRM in the worker
MODES = ("r", "r-")

settings.register_profile(
    "hdmf_zarr_fuzz", max_examples=EXAMPLES, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture])
FUZZ = settings.get_profile("hdmf_zarr_fuzz")


# ------------------------------------------------------------------------------------------
# the worker
# ------------------------------------------------------------------------------------------

class Worker:
    """A long-lived reader process (see ``_fuzz_worker.py``), restarted when it dies."""

    def __init__(self):
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_fuzz_worker.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     text=True, bufsize=1)
        line = self._readline(120)
        assert line is not None and json.loads(line) == {"ready": True}, "worker did not start"

    def _readline(self, timeout: float):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return line or None

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, path: str) -> list[dict]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(json.dumps({"path": path, "modes": MODES,
                                          "timeout": CASE_TIMEOUT}) + "\n")
        self.proc.stdin.flush()
        line = self._readline(CASE_TIMEOUT * len(MODES) + 30)
        if line is None:
            code = self.proc.poll()
            self.stop()
            outcome = "hang" if code is None else f"crash (exit {code})"
            return [{"mode": "both", "outcome": outcome}]
        return json.loads(line)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    w.start()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """``{zarr_format: (store path, document files, chunk files)}``."""
    out = {}
    base = tmp_path_factory.mktemp("fuzz_src")
    for fmt in (2, 3):
        path = base / f"fuzz{fmt}.nwb.zarr"
        write_store(path, fmt)
        out[fmt] = (str(path), node_documents(path, fmt), chunk_files(path, fmt))
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_cases")


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------

SPECIAL_STRINGS = ["", ".", "..", "/", "//", "\x00", "a\x00b", "../../..", "../../../etc",
                   "/etc", "/etc/passwd", "http://example.invalid/x", "s3://bucket/key",
                   "file:///etc", "object", "object_reference", "scalar", "|O", "<f8", "<i8",
                   "|b1", "int64", "float64", "str", "bytes", "string", "structured", "blosc",
                   "zlib", "pickle", "json2", "vlen-utf8", "vlen-bytes", "no-such-codec", "C",
                   "F", "group", "array", "regular", "default", "v2", "NaN", "Infinity",
                   "/acquisition/ts", "/general/devices/probe", "specifications"]
SHAPES = st.sampled_from([[2**62, 2**62], [2**63], [2**64], [-1], [-5, 3], [1] * 40, [2] * 33,
                          [0], [], [2**31, 2**31, 2**31], [10**12], [1.5], ["10"], [None],
                          [True], [10, 4, 3], [2**40]])
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(SPECIAL_STRINGS))
KNOWN_KEYS = ["shape", "chunks", "dtype", "data_type", "fill_value", "codecs", "compressor",
              "filters", "order", "zarr_format", "node_type", "attributes", "chunk_grid",
              "chunk_key_encoding", "dimension_names", "dimension_separator", "id", "name",
              "configuration", "source", "path", "value", "zarr_dtype", "_REFERENCE",
              "metadata", "consolidated_metadata", "kind"]
JSON_VALUES = st.recursive(
    SCALARS | SHAPES,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=4),
    max_leaves=8)

SOURCES = st.sampled_from([".", "", "..", "../..", "../../..", "/", "/etc", "/tmp",
                           "http://example.invalid/x.zarr", "s3://b/k", "file:///etc",
                           "a\x00b", "../missing.nwb.zarr", "missing.zarr", "./", "./.",
                           "fuzz2.nwb.zarr", "fuzz3.nwb.zarr", "../fuzz_src0/fuzz2.nwb.zarr"]) \
    | st.none() | st.integers() | st.text(max_size=8)
PATHS = st.sampled_from(["/", "/acquisition", "/acquisition/ts", "/acquisition/ts/data",
                         "/acquisition/es", "/general/devices/probe", "/general/devices",
                         "/intervals/epochs", "/general/extracellular_ephys/electrodes",
                         "..", "/..", "/../..", "/a/../b", "//", "", "/nonexistent",
                         "/etc/passwd", "a\x00", "relative/path", "/acquisition/ts/data/x",
                         "/specifications", "/specifications/core", "/./acquisition"]) \
    | st.none() | st.integers() | st.text(max_size=8)
LINK_ENTRY = st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(["device", "x", "", "..", "a/b", "\x00", "data"])
                  | st.integers(), "source": SOURCES, "path": PATHS,
                  "extra": SCALARS})
REF_DICT = st.fixed_dictionaries({}, optional={"source": SOURCES, "path": PATHS,
                                               "object_id": SCALARS})
REF_WRAPPER = (st.builds(lambda v, d: {"value": v, "zarr_dtype": d},
                         REF_DICT | SCALARS, st.sampled_from(["object", "int", "scalar", 5]))
               | st.builds(lambda v: {"_REFERENCE": v}, REF_DICT | SCALARS))
DTYPE_VALUES = st.sampled_from(["object", "object_reference", "scalar", "int", "float", "str",
                                "bytes", "<f4", "|b1", "bool_", "nonsense", "uint64"]) \
    | st.lists(st.fixed_dictionaries({}, optional={"name": st.sampled_from(
        ["idx_start", "count", "timeseries", "x", ""]) | SCALARS,
        "dtype": st.sampled_from(["object", "int32", "str", "nope"]) | SCALARS}), max_size=4) \
    | SCALARS
RESERVED = {
    "links": (LINK_ENTRY.map(lambda e: [e]) | st.lists(LINK_ENTRY, max_size=3) | SCALARS
              | st.dictionaries(st.text(max_size=3), SCALARS, max_size=2)),
    "dtype": DTYPE_VALUES,
    "_REFERENCE_FIELDS": st.lists(SCALARS, max_size=3) | SCALARS,
    "_SCALAR": SCALARS,
    "_ARRAY_DIMENSIONS": st.lists(SCALARS, max_size=3) | SCALARS | SHAPES,
    ".specloc": SCALARS | REF_WRAPPER,
    "reference": REF_WRAPPER,
}


# ------------------------------------------------------------------------------------------
# mutations
# ------------------------------------------------------------------------------------------

def _walk_target(data, doc, max_depth: int = 6) -> list:
    """Draw a key path inside ``doc`` (possibly empty = the whole document)."""
    keys: list = []
    cur = doc
    for _ in range(max_depth):
        if isinstance(cur, dict) and cur:
            options = sorted(cur, key=str)
        elif isinstance(cur, list) and cur:
            options = list(range(len(cur)))
        else:
            break
        if not data.draw(st.booleans(), label="descend"):
            break
        k = data.draw(st.sampled_from(options), label="key")
        keys.append(k)
        cur = cur[k]
    return keys


def mutate_document(data, store: str, docs: list[str], zarr_format: int) -> dict:
    """Change, remove or corrupt one part of one metadata document."""
    rel = data.draw(st.sampled_from(docs), label="document")
    full = os.path.join(store, rel)
    op = data.draw(st.sampled_from(["set", "set", "delete", "raw", "shape", "consolidated"]),
                   label="op")
    prefix: list = []
    if op == "consolidated":  # a node's entry inside the consolidated document
        root_key = "zarr.json" if zarr_format == 3 else ".zmetadata"
        doc = load_json(os.path.join(store, root_key))
        md = doc.get("consolidated_metadata", {}) if zarr_format == 3 else doc
        md = md.get("metadata", {})
        node = data.draw(st.sampled_from(sorted(md)), label="entry")
        prefix = (["consolidated_metadata", "metadata", node] if zarr_format == 3
                  else ["metadata", node])
        rel, full = root_key, os.path.join(store, root_key)
        keys = prefix + _walk_target(data, md[node])
        op = data.draw(st.sampled_from(["set", "delete", "shape"]), label="op2")
    elif op != "raw":
        keys = _walk_target(data, load_json(full))
    if op == "raw":
        original = Path(full).read_bytes()
        how = data.draw(st.sampled_from(["truncate", "garbage", "literal"]), label="raw")
        if how == "truncate":
            payload = original[:data.draw(st.integers(0, max(len(original) - 1, 0)))]
        elif how == "garbage":
            payload = data.draw(st.binary(max_size=64), label="bytes")
        else:
            payload = data.draw(st.sampled_from(
                [b"", b"null", b"[]", b"{}", b"42", b'"x"', b"{", b"NaN", b"\xff\xfe",
                 b'{"zarr_format": 3}', b'{"zarr_format": 2}', b"[" * 100000]), label="lit")
        Path(full).write_bytes(payload)
        return {"kind": "document", "file": rel, "op": how}
    if op == "shape":
        field = data.draw(st.sampled_from(["shape", "chunks"]), label="field")
        value = data.draw(SHAPES, label="shape")
        if zarr_format == 3 and field == "chunks":
            target = prefix + ["chunk_grid", "configuration", "chunk_shape"]
        else:
            target = prefix + [field]

        def put(cont, k, v=value):
            if isinstance(cont, dict):
                cont[k] = v
        edit_json(store, rel, target, put)
        return {"kind": "document", "file": rel, "op": "shape", "keys": target, "value": value}
    if op == "delete":
        if not keys:
            os.remove(full)
            return {"kind": "document", "file": rel, "op": "remove file"}

        def remove(cont, k):
            if isinstance(cont, dict):
                cont.pop(k, None)
            elif isinstance(cont, list) and isinstance(k, int) and k < len(cont):
                del cont[k]
        edit_json(store, rel, keys, remove)
        return {"kind": "document", "file": rel, "op": "delete", "keys": keys}
    value = data.draw(JSON_VALUES, label="value")
    if not keys:
        edit_json(store, rel, [], lambda _doc: value)
    else:
        def assign(cont, k):
            cont[k] = value
        edit_json(store, rel, keys, assign)
    return {"kind": "document", "file": rel, "op": "set", "keys": keys, "value": value}


_RESERVED_NAME = {
    "links": {2: "zarr_link", 3: "_LINKS"},
    "dtype": {2: "zarr_dtype", 3: "_DTYPE"},
}


def mutate_reserved(data, store: str, docs: list[str], zarr_format: int) -> dict:
    """Set one reserved attribute of one node to a hostile value."""
    doc_name = "zarr.json" if zarr_format == 3 else None
    nodes = sorted({os.path.dirname(d) for d in docs
                    if doc_name is None or os.path.basename(d) == doc_name})
    nodes = [n for n in nodes if not n.startswith("specifications/")]
    node = data.draw(st.sampled_from(nodes), label="node")
    which = data.draw(st.sampled_from(sorted(RESERVED)), label="attribute")
    value = data.draw(RESERVED[which], label="value")
    if which in _RESERVED_NAME:
        name = _RESERVED_NAME[which][zarr_format]
        if data.draw(st.booleans(), label="other layout's name"):
            name = _RESERVED_NAME[which][5 - zarr_format]
    elif which == "reference":
        name = data.draw(st.sampled_from(["table", "timeseries", "description", "new_ref"]))
    else:
        name = which
    homes = attribute_homes(store, zarr_format, node)
    where = data.draw(st.sampled_from(["both", "own", "consolidated"]), label="where")
    if where == "own":
        homes = homes[:1]
    elif where == "consolidated":
        homes = homes[1:]

    for rel, keys in homes:
        def assign(cont, k):
            cont[k] = value
        edit_json(store, rel, keys + [name], assign)
    return {"kind": "reserved", "node": node, "attribute": name, "value": value,
            "where": where}


def mutate_chunk(data, store: str, chunks: list[str], zarr_format: int) -> dict:
    """Truncate, flip bytes of, or replace one chunk."""
    rel = data.draw(st.sampled_from(chunks), label="chunk")
    full = Path(store, rel)
    raw = bytearray(full.read_bytes())
    op = data.draw(st.sampled_from(["truncate", "flip", "random", "append", "empty"]),
                   label="op")
    if op == "truncate" and raw:
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), label="at")]
    elif op == "flip" and raw:
        for pos in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8),
                             label="positions"):
            raw[pos] ^= data.draw(st.integers(1, 255), label="mask")
    elif op == "random":
        raw = bytearray(data.draw(st.binary(max_size=256), label="bytes"))
    elif op == "append":
        raw += data.draw(st.binary(min_size=1, max_size=64), label="bytes")
    else:
        raw = bytearray()
    full.write_bytes(bytes(raw))
    return {"kind": "chunk", "file": rel, "op": op}


REF_ARRAYS = ("general/extracellular_ephys/electrodes/group", "intervals/epochs/timeseries")


def mutate_reference_elements(data, store: str, _docs, zarr_format: int) -> dict:
    """Rewrite the elements of a reference column with hostile targets (well-encoded chunks)."""
    import numcodecs
    import numpy as np
    import zarr

    rel = data.draw(st.sampled_from(REF_ARRAYS), label="array")
    targets = data.draw(st.lists(PATHS if zarr_format == 3 else REF_DICT | SCALARS,
                                 min_size=1, max_size=4), label="targets")
    if zarr_format == 3:
        arr = zarr.open_array(os.path.join(store, rel), mode="r+", zarr_format=3)
        values = [t if isinstance(t, str) else json.dumps(t) for t in targets]
        if arr.dtype.names:  # compound: replace the reference field
            field = arr.dtype.names[-1]
            current = arr[...]
            for i in range(current.shape[0]):
                current[field][i] = values[i % len(values)]
            arr[...] = current
        else:
            arr[...] = np.array([values[i % len(values)] for i in range(arr.shape[0])],
                                dtype=object)
        return {"kind": "references", "array": rel, "targets": targets}
    meta = load_json(os.path.join(store, rel, ".zarray"))
    n = meta["chunks"][0]
    if isinstance(meta["dtype"], list):  # compound with pickle: rewrite as json2 records
        rows = [[0, 1, targets[i % len(targets)]] for i in range(n)]
        meta["filters"] = [{"id": "json2", "allow_nan": True, "check_circular": True,
                            "encoding": "utf-8", "ensure_ascii": True, "indent": None,
                            "separators": [",", ":"], "skipkeys": False, "sort_keys": True,
                            "strict": True}]
        dtype_str = np.dtype([(f[0], object if f[1] == "|O" else f[1])
                              for f in meta["dtype"]]).str
        payload = json.dumps(rows + [dtype_str, [n]], allow_nan=True).encode()
        from _reliability_common import dump_json
        dump_json(os.path.join(store, rel, ".zarray"), meta)
        zmeta = load_json(os.path.join(store, ".zmetadata"))
        zmeta["metadata"][f"{rel}/.zarray"] = meta
        dump_json(os.path.join(store, ".zmetadata"), zmeta)
    else:
        rows = [targets[i % len(targets)] for i in range(n)]
        payload = json.dumps(rows + ["|O", [n]], allow_nan=True).encode()
    if meta.get("compressor"):
        payload = numcodecs.get_codec(meta["compressor"]).encode(payload)
    Path(store, rel, "0").write_bytes(bytes(payload))
    return {"kind": "references", "array": rel, "targets": targets}


MUTATIONS = {"document": mutate_document, "reserved": mutate_reserved, "chunk": mutate_chunk,
             "references": mutate_reference_elements}


# ------------------------------------------------------------------------------------------
# the test
# ------------------------------------------------------------------------------------------

def _record(layout: int, mutation: dict, results: list[dict]) -> None:
    if not REPORT:
        return
    with open(REPORT, "a", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps({"layout": f"L{layout}", "kind": mutation["kind"],
                                 "mode": r.get("mode"), "outcome": r["outcome"],
                                 "cls": r.get("cls"), "msg": (r.get("msg") or "")[:300],
                                 "tb": (r.get("tb") or "")[-1500:],
                                 "mutation": repr(mutation)[:400]}) + "\n")


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
@pytest.mark.parametrize("zarr_format", [2, 3])
@FUZZ
@given(data=st.data())
def test_mutated_store_reads_or_raises_documented_error(zarr_format, kind, data, pristine,
                                                        worker, scratch):
    src, docs, chunks = pristine[zarr_format]
    case = scratch / uuid.uuid4().hex / os.path.basename(src)
    shutil.copytree(src, case)
    try:
        mutation = MUTATIONS[kind](data, str(case), chunks if kind == "chunk" else docs,
                                   zarr_format)
        data.draw(st.just(mutation), label="mutation")  # shown on failure
        results = worker.run(str(case))
        _record(zarr_format, mutation, results)
        bad = [r for r in results if r["outcome"] not in ("ok", "documented")]
        if not SURVEY:
            assert not bad, "\n".join(
                f"{r['mode']}: {r['outcome']} {r.get('cls')}: {(r.get('msg') or '')[:300]}\n"
                f"{(r.get('tb') or '')[-1200:]}" for r in bad)
    finally:
        shutil.rmtree(case.parent, ignore_errors=True)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("field", ["data", "timestamps"])
def test_touch_everything_reads_timeseries_data_and_timestamps(zarr_format, field, tmp_path):
    # pynwb 4 keeps TimeSeries.data and timestamps in hdmf's ``fields``, and its ``__fields__``
    # is empty: the fuzzer's "touch everything" step must still read them, or a corrupt chunk
    # there goes unnoticed
    import numpy as np
    from _fuzz_worker import run_case
    from _reliability_common import make_nwbfile, write_store
    from pynwb import NWBHDF5IO  # noqa: F401 - pynwb's types registered
    from pynwb.base import TimeSeries

    nwbfile = make_nwbfile()
    nwbfile.add_acquisition(TimeSeries(name="stamped", data=np.arange(40.0), unit="m",
                                       timestamps=np.arange(40.0) / 10))
    store = tmp_path / "s.nwb.zarr"
    write_store(store, zarr_format, nwbfile)
    node = store / "acquisition" / "stamped" / field
    chunk = node / ("0" if zarr_format == 2 else "c.0")
    assert chunk.is_file()
    chunk.write_bytes(b"\x28\xb5\x2f\xfd garbage, not a chunk" * 3)
    result = run_case(str(store), "r")
    assert result["outcome"] == "documented", result
    assert f"/acquisition/stamped/{field}" in result["msg"], result
