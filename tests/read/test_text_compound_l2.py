"""L2 compounds with text fields and no references (FORMAT.md 2.5, 2.8: a ``|O`` array of
pickled records) read back as compound tables, as HDF5IO gives them (hdmf's HERD tables)."""

import numpy as np
import pandas as pd
from hdmf.common import get_manager
from hdmf.common.resources import HERD
from hdmf.container import Container, Data, HERDManager

from hdmf_zarr import ZarrIO


class Session(HERDManager, Container):
    """The file a HERD annotates (hdmf's documented HERDManager pattern)."""

    __fields__ = ({"name": "external_resources", "child": True,
                   "required_name": "external_resources"},)


def test_herd_tables_read_as_records(tmp_path):
    herd = HERD()
    data = Data(name="species", data=["Homo sapiens", "Mus musculus"])
    data.parent = Session(name="session")
    herd.add_ref(container=data, key="Homo sapiens", entity_id="NCBITaxon:9606",
                 entity_uri="http://x")
    herd.add_ref(container=data, key="Mus musculus", entity_id="NCBITaxon:10090",
                 entity_uri="http://y")
    path = tmp_path / "herd.zarr"
    with ZarrIO(str(path), manager=get_manager(), mode="w", zarr_format=2) as io:
        io.write(herd)
    with ZarrIO(str(path), manager=get_manager(), mode="r") as io:
        got = io.read()
        for name in ("keys", "entities", "objects", "object_keys", "entity_keys"):
            want_df = getattr(herd, name).to_dataframe()
            got_df = getattr(got, name).to_dataframe()
            assert list(got_df.columns) == list(want_df.columns), name
            for column in want_df.columns:
                assert [str(v) if isinstance(v, str) else int(v) for v in got_df[column]] == \
                    [str(v) if isinstance(v, str) else int(v) for v in want_df[column]], \
                    (name, column)
        assert isinstance(got.objects["files_idx", 0], np.integer)
        assert got.keys["key", 1] == "Mus musculus"
        df = got.get_object_entities(file=data.parent, container=data)
    pd.testing.assert_frame_equal(
        df, pd.DataFrame({"entity_id": ["NCBITaxon:9606", "NCBITaxon:10090"],
                          "entity_uri": ["http://x", "http://y"]}))


def test_records_that_do_not_fit_the_compound_type_are_a_format_error(tmp_path):
    """A zarr_dtype naming more fields than the stored records hold (a hostile or broken
    store) is a documented error naming the dataset, not a raw IndexError."""
    import json

    import pytest

    from hdmf_zarr.errors import HdmfZarrError

    herd = HERD()
    data = Data(name="species", data=["Homo sapiens"])
    data.parent = Session(name="session")
    herd.add_ref(container=data, key="Homo sapiens", entity_id="NCBITaxon:9606",
                 entity_uri="http://x")
    path = tmp_path / "herd.zarr"
    with ZarrIO(str(path), manager=get_manager(), mode="w", zarr_format=2) as io:
        io.write(herd)
    attrs_path = path / "keys" / ".zattrs"
    attrs = json.loads(attrs_path.read_text())
    attrs["zarr_dtype"] = attrs["zarr_dtype"] + [{"name": "extra", "dtype": "str_"}]
    attrs_path.write_text(json.dumps(attrs))
    consolidated = json.loads((path / ".zmetadata").read_text())
    consolidated["metadata"]["keys/.zattrs"] = attrs
    (path / ".zmetadata").write_text(json.dumps(consolidated))
    for mode in ("r", "r-"):
        with ZarrIO(str(path), manager=get_manager(), mode=mode) as io, \
                pytest.raises(HdmfZarrError, match="/keys"):
            io.read().keys.to_dataframe()
