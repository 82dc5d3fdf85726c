"""Backend selection and raw-store inspection for the round-trip tests.

The tests run through ``hdmf_zarr`` by default. ``HDMF_ZARR_TEST_BACKEND=hdf5`` runs the same tests
through pynwb's ``NWBHDF5IO`` / hdmf's ``HDF5IO`` instead: a stand-in that proves the tests and the
comparison logic before the Zarr backend exists (the layout parameter is then ignored).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

BACKEND = os.environ.get("HDMF_ZARR_TEST_BACKEND", "zarr").strip().lower() or "zarr"
if BACKEND not in ("zarr", "hdf5"):
    raise RuntimeError(f"HDMF_ZARR_TEST_BACKEND must be 'zarr' or 'hdf5', not {BACKEND!r}")

IS_HDF5 = BACKEND == "hdf5"
NWB_SUFFIX = ".nwb" if IS_HDF5 else ".nwb.zarr"
GENERIC_SUFFIX = ".h5" if IS_HDF5 else ".zarr"
LAYOUTS = (2, 3)
LAYOUT_IDS = ("L2", "L3")

_WRITE_MODES = ("w", "w-", "x")


def nwb_io(path, mode: str, layout: int, **kwargs):
    """An NWB IO object of the selected backend (``zarr_format`` only when creating a store)."""
    if IS_HDF5:
        from pynwb import NWBHDF5IO

        return NWBHDF5IO(str(path), mode=mode, **kwargs)
    from hdmf_zarr.nwb import NWBZarrIO

    if mode in _WRITE_MODES:
        kwargs.setdefault("zarr_format", layout)
    return NWBZarrIO(str(path), mode=mode, **kwargs)


def generic_io(path, mode: str, layout: int, manager=None, **kwargs):
    """A generic HDMF IO object of the selected backend, by default with hdmf-common's manager."""
    from hdmf.common import get_manager

    manager = manager if manager is not None else get_manager()
    if IS_HDF5:
        from hdmf.backends.hdf5 import HDF5IO

        return HDF5IO(str(path), mode=mode, manager=manager, **kwargs)
    from hdmf_zarr.backend import ZarrIO

    if mode in _WRITE_MODES:
        kwargs.setdefault("zarr_format", layout)
    return ZarrIO(str(path), mode=mode, manager=manager, **kwargs)


def data_io(data, **kwargs):
    """The backend's DataIO wrapper (``ZarrDataIO`` or ``H5DataIO``)."""
    if IS_HDF5:
        from hdmf.backends.hdf5 import H5DataIO

        return H5DataIO(data, **kwargs)
    from hdmf_zarr.utils import ZarrDataIO

    return ZarrDataIO(data, **kwargs)


def nwb_io_source_code() -> str:
    """Python source defining ``open_nwb(path)`` for a read in a subprocess (same backend)."""
    if IS_HDF5:
        return ("from pynwb import NWBHDF5IO\n"
                "def open_nwb(path):\n"
                "    return NWBHDF5IO(path, 'r', load_namespaces=True)\n")
    return ("from hdmf_zarr.nwb import NWBZarrIO\n"
            "def open_nwb(path):\n"
            "    return NWBZarrIO(path, 'r', load_namespaces=True)\n")


# -- raw store inspection ---------------------------------------------------------------------

def _node_dir(store: Path, node_path: str) -> Path:
    rel = node_path.strip("/")
    return store / rel if rel else store


def _load_json(path: Path) -> dict:
    # Python's json accepts the bare NaN / Infinity tokens that FORMAT.md allows
    return json.loads(path.read_text(encoding="utf-8"))


def raw_layout(store) -> int | None:
    """2 or 3 from the root documents of a Zarr directory store (FORMAT.md 4); None for HDF5."""
    if IS_HDF5:
        return None
    store = Path(store)
    if (store / "zarr.json").is_file():
        doc = _load_json(store / "zarr.json")
        if doc.get("zarr_format") == 3 and doc.get("node_type") == "group":
            return 3
    if (store / ".zgroup").is_file() and _load_json(store / ".zgroup").get("zarr_format") == 2:
        return 2
    raise AssertionError(f"{store} holds neither an L3 nor an L2 group root")


def raw_attributes(store, node_path: str) -> dict:
    """The stored attributes of a group or dataset, as JSON (reserved keys included)."""
    if IS_HDF5:
        import h5py

        with h5py.File(store, "r") as f:
            return dict(f[node_path].attrs)
    node = _node_dir(Path(store), node_path)
    if raw_layout(store) == 3:
        return _load_json(node / "zarr.json").get("attributes", {})
    zattrs = node / ".zattrs"
    return _load_json(zattrs) if zattrs.is_file() else {}


def raw_links(store, group_path: str) -> list[dict]:
    """The links stored on a group: dicts with ``name``, ``source`` and ``path``.

    Zarr: ``zarr_link`` (L2, FORMAT.md 2.4) or ``_LINKS`` (L3, 3.5) of the group's attributes.
    HDF5: soft links get source ``"."``, external links the file name stored in the link.
    """
    if IS_HDF5:
        import h5py

        links = []
        with h5py.File(store, "r") as f:
            group = f[group_path]
            for name in group:
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.SoftLink):
                    links.append({"name": name, "source": ".", "path": link.path})
                elif isinstance(link, h5py.ExternalLink):
                    links.append({"name": name, "source": link.filename, "path": link.path})
        return links
    key = "_LINKS" if raw_layout(store) == 3 else "zarr_link"
    entries = raw_attributes(store, group_path).get(key, [])
    assert isinstance(entries, list), f"{group_path}: {key} is not a list: {entries!r}"
    return entries


def raw_node_exists(store, node_path: str) -> bool:
    """True if a real group or dataset (not a link) is stored at ``node_path``."""
    if IS_HDF5:
        import h5py

        with h5py.File(store, "r") as f:
            parent, _, name = node_path.rstrip("/").rpartition("/")
            group = f[parent or "/"]
            if name not in group:
                return False
            return isinstance(group.get(name, getlink=True), h5py.HardLink)
    node = _node_dir(Path(store), node_path)
    return any((node / doc).is_file() for doc in ("zarr.json", ".zarray", ".zgroup"))


_METADATA_NAMES = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}


def raw_snapshot(store) -> dict[str, object]:
    """What must stay bit-identical when a file is appended to.

    Zarr: ``{relative key: bytes}`` of every chunk object (metadata documents are compared through
    the read-back containers instead, since appending legitimately rewrites consolidated metadata).
    HDF5: ``{dataset path: (dtype, shape, raw bytes of the values)}`` of every hard-linked dataset
    that holds no object references.
    """
    if IS_HDF5:
        import h5py
        import numpy as np

        snap = {}
        with h5py.File(store, "r") as f:
            def visit(name, obj):
                if (isinstance(obj, h5py.Dataset) and obj.dtype.kind != "O"
                        and obj.dtype.names is None):
                    snap[name] = (str(obj.dtype), obj.shape, np.asarray(obj[()]).tobytes())
            f.visititems(visit)
        return snap
    store = Path(store)
    return {p.relative_to(store).as_posix(): p.read_bytes()
            for p in sorted(store.rglob("*")) if p.is_file() and p.name not in _METADATA_NAMES}


def stored_path(array) -> str | None:
    """The in-file path of a lazily read dataset, when the array object tells it."""
    for attr in ("path", "name"):
        value = getattr(array, attr, None)
        if isinstance(value, str) and value:
            return "/" + value.strip("/")
    return None
