"""Appending to a reference column read from a store fails loudly instead of doing nothing.

``HDMFDataset.append`` is a no-op in hdmf; our reference datasets inherited it, so
``table.add_row(y=container)`` on a file opened in mode ``a`` dropped the reference silently
while the other columns grew (hdmf's ``TestDataIOReferences.test_append`` read back the wrong
row). Until references can be appended in place, the append raises UnsupportedDataError.
"""

import pytest
from hdmf.common import DynamicTable, SimpleMultiContainer, get_manager
from hdmf.container import Container

from hdmf_zarr.backend import ZarrIO
from hdmf_zarr.errors import UnsupportedDataError


@pytest.mark.parametrize("zarr_format", [2, 3], ids=["L2", "L3"])
def test_append_reference_raises(tmp_path, zarr_format):
    group1, group2 = Container("group1"), Container("group2")
    table = DynamicTable(name="table", description="t")
    table.add_column(name="y", description="references")
    table.add_row(id=101, y=group1)
    table.add_row(id=102, y=group2)
    multi = SimpleMultiContainer(name="multi", containers=[group1, group2, table])
    path = str(tmp_path / "refs.zarr")
    with ZarrIO(path, mode="w", manager=get_manager(), zarr_format=zarr_format) as io:
        io.write(multi)
    with ZarrIO(path, mode="a", manager=get_manager()) as io:
        read = io.read()
        column = read["table"]["y"]
        with pytest.raises(UnsupportedDataError, match="append"):
            column.data.append(read["group1"])
        assert [c.name for c in column[:]] == ["group1", "group2"]
