"""A small NWB file touching every reserved construct, and helpers to read back everything."""

from __future__ import annotations

import datetime

import numpy as np


def make_nwbfile():
    """An NWBFile with a TimeSeries, an ElectricalSeries (electrodes table, references),
    epochs (compound column with references) and a soft link (ElectrodeGroup -> Device)."""
    from pynwb import NWBFile, TimeSeries
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile(session_description="fuzz", identifier="fuzz-1",
                  session_start_time=datetime.datetime(2024, 1, 2, 3, 4, 5,
                                                       tzinfo=datetime.UTC))
    ts = TimeSeries(name="ts", data=np.arange(20, dtype=np.float64).reshape(10, 2),
                    unit="m", rate=10.0)
    nwb.add_acquisition(ts)
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group(name="shank0", description="sh", location="CA1",
                                       device=device)
    for i in range(4):
        nwb.add_electrode(group=group, location=f"loc{i}")
    region = nwb.create_electrode_table_region(list(range(4)), "all")
    es = ElectricalSeries(name="es", data=np.arange(40, dtype=np.int16).reshape(10, 4),
                          electrodes=region, starting_time=0.0, rate=30000.0)
    nwb.add_acquisition(es)
    nwb.add_epoch(0.0, 1.0, ["a"], [es])
    nwb.add_epoch(1.0, 2.0, ["b"], [ts])
    return nwb


def touch_everything(nwbfile) -> int:
    """Read every dataset and table of ``nwbfile``; return the number of objects visited.

    Besides ``Data`` objects and tables, every array-like field of every container is read:
    the fields set on the container (hdmf's ``fields``, which is where pynwb 4 keeps
    ``TimeSeries.data`` and ``timestamps``; its ``__fields__`` is empty there) and those
    ``__fields__`` names."""
    from hdmf.common import DynamicTable
    from hdmf.container import Data

    count = 0
    for obj in nwbfile.all_children():
        count += 1
        if isinstance(obj, DynamicTable):
            obj.to_dataframe()
        if isinstance(obj, Data):
            _read(obj.data)
        values = list(dict(getattr(obj, "fields", None) or {}).values())
        for name in getattr(obj, "__fields__", ()):
            key = name["name"] if isinstance(name, dict) else name
            try:
                values.append(getattr(obj, key, None))
            except AttributeError:
                continue
        for value in values:
            if _is_array_like(value):
                _read(value)
    return count


def touched_fields(nwbfile) -> set:
    """Names of the array-like fields :func:`touch_everything` reads (for its own test)."""
    out = set()
    for obj in nwbfile.all_children():
        for key, value in dict(getattr(obj, "fields", None) or {}).items():
            if _is_array_like(value):
                out.add(f"{type(obj).__name__}.{key}")
    return out


def _is_array_like(value) -> bool:
    from hdmf.container import AbstractContainer

    if isinstance(value, AbstractContainer):  # visited through all_children
        return False
    return hasattr(value, "shape") and hasattr(value, "__getitem__") and not isinstance(
        value, (np.ndarray, str, bytes))


def _read(data) -> None:
    if not _is_array_like(data):
        return
    shape = tuple(data.shape)
    if shape == ():
        data[()]
    else:
        data[...]


# ------------------------------------------------------------------------------------------
# stores on disk
# ------------------------------------------------------------------------------------------

def write_store(path, zarr_format: int, nwbfile=None) -> None:
    """Write ``nwbfile`` (default :func:`make_nwbfile`) to ``path`` in the given layout."""
    from hdmf_zarr import NWBZarrIO

    with NWBZarrIO(str(path), "w", zarr_format=zarr_format) as io:
        io.write(nwbfile if nwbfile is not None else make_nwbfile())


def node_documents(path, zarr_format: int) -> list[str]:
    """Relative names of every metadata document file of the store at ``path``."""
    import os

    names = {"zarr.json"} if zarr_format == 3 else {".zarray", ".zattrs", ".zgroup",
                                                    ".zmetadata"}
    out = []
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            if name in names:
                out.append(os.path.relpath(os.path.join(dirpath, name), path))
    return sorted(out)


def chunk_files(path, zarr_format: int) -> list[str]:
    """Relative names of every chunk file of the store at ``path``."""
    import os

    docs = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}
    out = []
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            if name not in docs:
                out.append(os.path.relpath(os.path.join(dirpath, name), path))
    return sorted(out)


def load_json(path):
    import json
    import math

    with open(path, "rb") as fh:
        return json.loads(fh.read().decode("utf-8"),
                          parse_constant=lambda t: {"NaN": math.nan, "Infinity": math.inf,
                                                    "-Infinity": -math.inf}[t])


def dump_json(path, doc) -> None:
    import json

    with open(path, "wb") as fh:
        fh.write(json.dumps(doc, allow_nan=True).encode("utf-8"))


def attribute_homes(store, zarr_format: int, node: str) -> list[tuple[str, list]]:
    """Where the attributes of ``node`` (relative path, ``""`` root) live: ``(file, key path)``
    pairs, for the node's own document and its consolidated copy."""
    import os

    if zarr_format == 3:
        own = os.path.join(node, "zarr.json") if node else "zarr.json"
        homes = [(own, ["attributes"])]
        if node:
            homes.append(("zarr.json", ["consolidated_metadata", "metadata", node, "attributes"]))
        return homes
    own = os.path.join(node, ".zattrs") if node else ".zattrs"
    return [(own, []), (".zmetadata", ["metadata", f"{node}/.zattrs" if node else ".zattrs"])]


def edit_json(store, rel: str, keys: list, fn) -> bool:
    """Apply ``fn(container, last_key)`` at ``keys`` inside the JSON file ``rel`` of ``store``
    (creating missing dicts on the way); False when the file or path is not there."""
    import os

    full = os.path.join(store, rel)
    if os.path.exists(full):
        doc = load_json(full)
    elif rel.endswith(".zattrs"):
        doc = {}
    else:
        return False
    if not keys:
        doc = fn(doc)
        dump_json(full, doc)
        return True
    cur = doc
    for k in keys[:-1]:
        if isinstance(cur, dict):
            if k not in cur or not isinstance(cur[k], (dict, list)):
                cur[k] = {}
            cur = cur[k]
        elif isinstance(cur, list) and isinstance(k, int) and 0 <= k < len(cur):
            cur = cur[k]
        else:
            return False
    if not isinstance(cur, (dict, list)):
        return False
    fn(cur, keys[-1])
    dump_json(full, doc)
    return True



def edit_array_meta(store, fmt: int, node: str, fn) -> None:
    """Apply ``fn(meta)`` to the array document of ``node`` and to its consolidated copy."""
    if fmt == 3:
        homes = [(f"{node}/zarr.json", []),
                 ("zarr.json", ["consolidated_metadata", "metadata", node])]
    else:
        homes = [(f"{node}/.zarray", []), (".zmetadata", ["metadata", f"{node}/.zarray"])]
    for rel, keys in homes:
        if keys:
            edit_json(str(store), rel, keys, lambda cont, k: fn(cont[k]))
        else:
            edit_json(str(store), rel, [], lambda doc: (fn(doc), doc)[1])

def set_attribute(store, zarr_format: int, node: str, name: str, value) -> None:
    """Set attribute ``name`` of ``node`` in its document and in the consolidated metadata."""
    for rel, keys in attribute_homes(str(store), zarr_format, node):
        def assign(cont, k):
            cont[k] = value
        edit_json(str(store), rel, keys + [name], assign)


def set_links(store, zarr_format: int, node: str, entries: list) -> None:
    """Replace the links of group ``node`` with ``entries``."""
    set_attribute(store, zarr_format, node, "zarr_link" if zarr_format == 2 else "_LINKS",
                  entries)


def set_reference_paths(store, zarr_format: int, array: str, paths: list) -> None:
    """Rewrite the elements of the 1-D reference dataset ``array`` (relative node path) to
    point at ``paths`` (repeated to fill the array), well encoded."""
    import json
    import os

    import numcodecs
    import numpy as np
    import zarr

    if zarr_format == 3:
        arr = zarr.open_array(os.path.join(str(store), array), mode="r+", zarr_format=3)
        arr[...] = np.array([paths[i % len(paths)] for i in range(arr.shape[0])], dtype=object)
        return
    meta = load_json(os.path.join(str(store), array, ".zarray"))
    n = meta["chunks"][0]
    rows = [{"source": ".", "path": paths[i % len(paths)]} for i in range(n)]
    payload = json.dumps(rows + ["|O", [n]]).encode()
    if meta.get("compressor"):
        payload = numcodecs.get_codec(meta["compressor"]).encode(payload)
    with open(os.path.join(str(store), array, "0"), "wb") as fh:
        fh.write(bytes(payload))


def read_all(path, mode: str = "r"):
    """Open, read and touch everything of ``path``; assert that no file changed.

    Returns the list of warnings raised."""
    import warnings

    from _shared import snapshot_files  # not at module level: worker scripts import this module
    from hdmf_zarr import NWBZarrIO

    before = snapshot_files(path, mtimes=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with NWBZarrIO(str(path), mode) as io:
                touch_everything(io.read())
        finally:
            assert snapshot_files(path, mtimes=True) == before, "reading changed the store"
    return caught
