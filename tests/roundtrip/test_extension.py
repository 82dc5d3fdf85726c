"""Catalogue 7: an NWB extension, written with its cached spec and read without the extension.

The extension is built once per session with ``pynwb.spec.NWBNamespaceBuilder`` and loaded into a
private copy of pynwb's type map (``pynwb.get_type_map()`` returns a copy), which the writer and the
first reader get through their ``manager``. The file is then read in this process and again in a
fresh interpreter that never loaded the extension: there the classes come only from the
specifications cached in the file (``load_namespaces=True``).

The namespace is deliberately kept out of pynwb's *global* type map: every NWB IO object opened
later in the session without a manager (the CLI's ``convert``, for one) starts from a copy of that
map and caches every namespace in it, and ``pynwb.validate`` then picks the extension as the file's
most specific namespace and fails ("data type 'NWBFile' not found in namespace ...").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import numpy as np
import pynwb
import pytest
from hdmf.build import BuildManager
from pynwb import NWBFile

from . import _helpers as h
from ._compare import assert_container_equal, assert_values_equal

NAMESPACE = "ndx-roundtrip-catalogue"
TYPE_NAME = "RoundTripLabMetaData"
RIG = "rig №7, room é"
GAINS = np.array([0.5, 1.25, np.nan, -2.0e10])
LABELS = ["α", "beta", "γ"]
SCALE = np.int16(-12)


@pytest.fixture(scope="session")
def extension(tmp_path_factory):
    """``(type map, RoundTripLabMetaData class)``; the type map is a private copy of pynwb's."""
    from pynwb.spec import NWBAttributeSpec, NWBDatasetSpec, NWBGroupSpec, NWBNamespaceBuilder

    outdir = tmp_path_factory.mktemp("extension")
    builder = NWBNamespaceBuilder(doc="round-trip catalogue extension", name=NAMESPACE,
                                  version="0.1.0", author=["hdmf_zarr tests"],
                                  contact=["tests@example.org"])
    builder.include_type("LabMetaData", namespace="core")
    spec = NWBGroupSpec(
        neurodata_type_def=TYPE_NAME,
        neurodata_type_inc="LabMetaData",
        doc="lab metadata with a text attribute and datasets",
        attributes=[NWBAttributeSpec(name="rig", doc="which rig", dtype="text")],
        datasets=[
            NWBDatasetSpec(name="gains", doc="per-channel gains", dtype="float64", shape=(None,)),
            NWBDatasetSpec(name="labels", doc="channel labels", dtype="text", shape=(None,)),
            NWBDatasetSpec(name="scale", doc="a scalar", dtype="int16"),
        ],
    )
    builder.add_spec(f"{NAMESPACE}.extensions.yaml", spec)
    builder.export(f"{NAMESPACE}.namespace.yaml", outdir=str(outdir))
    type_map = pynwb.get_type_map()  # a copy: pynwb's global type map stays untouched
    type_map.load_namespaces(str(outdir / f"{NAMESPACE}.namespace.yaml"))
    return type_map, type_map.get_dt_container_cls(TYPE_NAME, NAMESPACE)


def _file_with_extension(cls) -> tuple[NWBFile, object]:
    nwbfile = NWBFile(session_description="extension", identifier="ext-1",
                      session_start_time=datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC))
    meta = cls(name="rig_info", rig=RIG, gains=GAINS, labels=LABELS, scale=SCALE)
    nwbfile.add_lab_meta_data(meta)
    return nwbfile, meta


_READER = """
import json, sys
import pynwb
{open_nwb}
namespace, type_name = sys.argv[2], sys.argv[3]
before = namespace in pynwb.get_type_map().namespace_catalog.namespaces
with open_nwb(sys.argv[1]) as io:
    nwbfile = io.read()
    obj = nwbfile.lab_meta_data["rig_info"]
    def text(v):
        return v.decode("utf-8") if isinstance(v, bytes) else str(v)
    gains = [None if g != g else float(g) for g in obj.gains[()]]
    print(json.dumps({{
        "loaded_before_read": before,
        "class": type(obj).__name__,
        "namespace": getattr(type(obj), "namespace", None),
        "object_id": obj.object_id,
        "rig": text(obj.rig),
        "gains": gains,
        "labels": [text(x) for x in obj.labels[()]],
        "scale": (int(obj.scale[()]) if hasattr(obj.scale, "shape") and obj.scale.shape == ()
                  else int(obj.scale)),
    }}))
"""


def test_extension_roundtrip(roundtrip, extension):
    type_map, extension_class = extension
    nwbfile, meta = _file_with_extension(extension_class)
    path = roundtrip.write(nwbfile, manager=BuildManager(type_map), cache_spec=True)
    read = roundtrip.read(path, manager=BuildManager(type_map))
    assert_container_equal(nwbfile, read)
    read_meta = read.lab_meta_data["rig_info"]
    assert type(read_meta) is extension_class
    assert_values_equal(GAINS, read_meta.gains, strict_dtype=True, label="gains")
    assert_values_equal(SCALE, read_meta.scale, strict_dtype=True, label="scale")


def test_extension_read_without_extension(roundtrip, extension, tmp_path):
    type_map, extension_class = extension
    nwbfile, meta = _file_with_extension(extension_class)
    path = roundtrip.write(nwbfile, roundtrip.path("with_extension"),
                           manager=BuildManager(type_map), cache_spec=True)

    script = textwrap.dedent(_READER).format(open_nwb=h.nwb_io_source_code())
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # nothing from the test tree: only installed packages
    done = subprocess.run([sys.executable, "-c", script, str(path), NAMESPACE, TYPE_NAME],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, f"reader subprocess failed:\n{done.stderr[-4000:]}"
    got = json.loads(done.stdout.strip().splitlines()[-1])

    assert got["loaded_before_read"] is False, "the subprocess knew the extension before reading"
    assert got["class"] == TYPE_NAME
    assert got["namespace"] == NAMESPACE
    assert got["object_id"] == meta.object_id
    assert got["rig"] == RIG
    assert got["gains"] == [None if np.isnan(g) else float(g) for g in GAINS]
    assert got["labels"] == LABELS
    assert got["scale"] == int(SCALE)


def test_extension_stays_out_of_the_global_type_map(extension):
    """Loading the extension leaves pynwb's global type map as it was (see the module docstring)."""
    assert NAMESPACE not in pynwb.get_type_map().namespace_catalog.namespaces
    assert NAMESPACE not in pynwb.get_manager().namespace_catalog.namespaces
