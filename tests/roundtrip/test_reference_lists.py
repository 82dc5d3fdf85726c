"""References given the way pynwb users give them (issue 12, writes 1 and 3), in both layouts.

* a 1-D dataset of object references given as a list of containers (``ImageReferences``; hdmf's
  ``ReferenceBuilder`` is a dict, and a shape check counted each one as a sequence: "data of
  shape [4, 1] contradicts the specification"), and an IndexSeries pointing at those images;
* an untyped compound dataset of an extension given as a numpy structured array whose
  reference field holds the containers themselves (hdmf's ObjectMapper keeps them as they are;
  the writer resolves them to their builders, as HDF5IO does).

Each file is read back and every reference is checked to resolve to the object read at its path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pynwb
import pytest
from hdmf.build import BuildManager
from pynwb import NWBFile, TimeSeries
from pynwb.base import ImageReferences, Images
from pynwb.image import GrayscaleImage, IndexSeries

from . import _helpers as h
from ._compare import assert_container_equal

NAMESPACE = "ndx-reference-lists"


def _nwbfile(identifier: str) -> NWBFile:
    return NWBFile(session_description="reference lists", identifier=identifier,
                   session_start_time=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))


def test_image_references_list(roundtrip):
    nwbfile = _nwbfile("image-references")
    images = [GrayscaleImage(name=f"img{i}", data=np.full((3, 4), i, dtype="uint8"))
              for i in range(4)]
    order = [images[2], images[0], images[3], images[1], images[2]]
    nwbfile.add_stimulus_template(Images(
        name="stimulus_images", images=images, description="templates",
        order_of_images=ImageReferences(name="order_of_images", data=order)))
    nwbfile.add_stimulus(IndexSeries(name="shown", data=np.array([0, 1, 2, 3, 4], dtype="uint32"),
                                     indexed_images=nwbfile.stimulus_template["stimulus_images"],
                                     unit="N/A", timestamps=np.arange(5, dtype=float)))

    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read)
    rimages = read.stimulus_template["stimulus_images"]
    got = list(rimages.order_of_images.data[:])
    assert [g.name for g in got] == [o.name for o in order]
    for g, o in zip(got, order):
        assert g is rimages.images[o.name]
        np.testing.assert_array_equal(g.data[:], o.data)
    assert read.stimulus["shown"].indexed_images is rimages
    if not h.IS_HDF5:
        node = roundtrip.last_path / "stimulus/templates/stimulus_images/order_of_images"
        doc = json.loads((node / ("zarr.json" if roundtrip.layout == 3 else ".zarray"))
                         .read_text())
        assert doc["shape"] == [5]


@pytest.fixture(scope="module")
def reference_extension(tmp_path_factory):
    """A private type map with ``RefPairs``: a LabMetaData holding an untyped compound dataset
    ``pairs`` (int32 ``idx``, reference ``ts`` to a TimeSeries)."""
    from pynwb.spec import (
        NWBDatasetSpec,
        NWBDtypeSpec,
        NWBGroupSpec,
        NWBNamespaceBuilder,
        NWBRefSpec,
    )

    outdir = tmp_path_factory.mktemp("refext")
    builder = NWBNamespaceBuilder(doc="reference lists", name=NAMESPACE, version="0.1.0",
                                  author=["hdmf_zarr tests"], contact=["tests@example.org"])
    builder.include_type("LabMetaData", namespace="core")
    builder.include_type("TimeSeries", namespace="core")
    spec = NWBGroupSpec(
        neurodata_type_def="RefPairs", neurodata_type_inc="LabMetaData", doc="pairs",
        datasets=[NWBDatasetSpec(name="pairs", doc="index and series", shape=(None,), dtype=[
            NWBDtypeSpec(name="idx", doc="an index", dtype="int32"),
            NWBDtypeSpec(name="ts", doc="a series", dtype=NWBRefSpec("TimeSeries", "object"))])])
    builder.add_spec(f"{NAMESPACE}.extensions.yaml", spec)
    builder.export(f"{NAMESPACE}.namespace.yaml", outdir=str(outdir))
    type_map = pynwb.get_type_map()
    type_map.load_namespaces(str(outdir / f"{NAMESPACE}.namespace.yaml"))
    return type_map, type_map.get_dt_container_cls("RefPairs", NAMESPACE)


def test_untyped_compound_with_container_references(roundtrip, reference_extension):
    type_map, cls = reference_extension
    nwbfile = _nwbfile("compound-refs")
    series = [TimeSeries(name=f"target_{c}", data=np.arange(3.0) + i, unit="m", rate=1.0)
              for i, c in enumerate("ab")]
    for ts in series:
        nwbfile.add_acquisition(ts)
    rows = [(0, series[0]), (7, series[1]), (-2, series[0])]
    pairs = np.array(rows, dtype=[("idx", "<i4"), ("ts", "O")])
    nwbfile.add_lab_meta_data(cls(name="refs", pairs=pairs))

    path = roundtrip.write(nwbfile, manager=BuildManager(type_map))
    read = roundtrip.read(path, manager=BuildManager(type_map))
    got = read.lab_meta_data["refs"].pairs[:]
    assert len(got) == len(rows)
    for (idx, target), (want_idx, want) in zip(got, rows):
        assert int(idx) == want_idx
        assert target is read.acquisition[want.name]
        assert target.object_id == want.object_id
