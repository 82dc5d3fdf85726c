"""Attributes whose spec dtype is the generic ``uint`` read back unsigned, as from HDF5.

JSON keeps no integer type. hdmf's validator accepts only unsigned numpy values for a ``uint``
attribute, so ``CSRMatrix.shape`` (spec dtype ``uint``) read back as Python/int64 integers made
hdmf's own round trip (``tests/unit/common/test_sparse.py``) fail validation. HDF5IO returns
``uint64`` for it.
"""

import numpy as np
import pytest
from hdmf.common import CSRMatrix, get_manager, validate

from hdmf_zarr.backend import ZarrIO


@pytest.mark.parametrize("zarr_format", [2, 3], ids=["L2", "L3"])
def test_uint_attribute_reads_unsigned_and_validates(tmp_path, zarr_format):
    matrix = CSRMatrix(data=np.array([1, 2, 3]), indices=np.array([0, 2, 2]),
                       indptr=np.array([0, 2, 3, 3]), shape=(3, 3))
    path = tmp_path / "csr.zarr"
    with ZarrIO(str(path), mode="w", manager=get_manager(), zarr_format=zarr_format) as io:
        io.write(matrix)
    with ZarrIO(str(path), mode="r", manager=get_manager()) as io:
        builder = io.read_builder()
        shape = builder.attributes["shape"]
        assert isinstance(shape, np.ndarray) and shape.dtype == np.uint64
        assert shape.tolist() == [3, 3]
        assert validate(io) == []
        read = io.read()
        assert read.to_spmat().toarray().tolist() == [[1, 0, 2], [0, 0, 3], [0, 0, 0]]
