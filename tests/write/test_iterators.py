"""Iterators written buffer by buffer (write/iterators.py; docs/large-data.md "Iterators").

DataChunkIterator of known and unknown final size (growing along axis 0),
GenericDataChunkIterator, ``exhaust_dci=False`` queues, progress bars, and iterators that yield
the wrong dtype or shape. Every value is read back.
"""

import numpy as np
import pytest
from _large import (
    LAYOUT,
    array_doc,
    nwbfile_with,
    read_after_failure,
    read_values,
    stored_objects,
    write_nwb,
)
from hdmf.common import DynamicTable, VectorData, get_manager
from hdmf.data_utils import DataChunk, DataChunkIterator

from _shared import ArrayIterator
from hdmf_zarr.backend import ZarrIO
from hdmf_zarr.errors import UnsupportedDataError
from hdmf_zarr.utils import ZarrDataIO

NODE = "acquisition/ts/data"
DATA = np.arange(1000 * 5, dtype="<i4").reshape(1000, 5) * 7 - 3000


def _rows():
    yield from DATA


@LAYOUT
def test_dci_unknown_size_grows_along_axis_0(tmp_path, layout):
    dci = DataChunkIterator(data=_rows(), buffer_size=64)
    assert dci.maxshape[0] is None
    nwbfile = nwbfile_with(ZarrDataIO(dci, chunks=(100, 5)))
    path = write_nwb(tmp_path / "u.nwb.zarr", nwbfile, layout)
    doc = array_doc(path, NODE)
    assert doc["shape"] == [1000, 5]
    assert len(stored_objects(path, NODE)) == 10
    np.testing.assert_array_equal(read_values(path), DATA)


@LAYOUT
def test_dci_known_size(tmp_path, layout):
    dci = DataChunkIterator(data=_rows(), maxshape=DATA.shape, dtype=DATA.dtype, buffer_size=100)
    nwbfile = nwbfile_with(dci)
    path = write_nwb(tmp_path / "k.nwb.zarr", nwbfile, layout)
    assert array_doc(path, NODE)["shape"] == [1000, 5]
    np.testing.assert_array_equal(read_values(path), DATA)


@LAYOUT
def test_dci_over_an_array(tmp_path, layout):
    dci = DataChunkIterator(data=DATA.astype("<f4"), buffer_size=333)
    path = write_nwb(tmp_path / "a.nwb.zarr", nwbfile_with(dci), layout)
    values = read_values(path)
    assert values.dtype == np.dtype("<f4")
    np.testing.assert_array_equal(values, DATA.astype("<f4"))


@LAYOUT
def test_generic_iterator(tmp_path, layout):
    dci = ArrayIterator(DATA, buffer_shape=(250, 5), chunk_shape=(50, 5))
    path = write_nwb(tmp_path / "g.nwb.zarr", nwbfile_with(dci), layout)
    doc = array_doc(path, NODE)
    chunks = doc["chunks"] if layout == 2 else doc["chunk_grid"]["configuration"]["chunk_shape"]
    assert chunks == [50, 5]  # the iterator's recommended chunk shape
    np.testing.assert_array_equal(read_values(path), DATA)


@LAYOUT
def test_exhaust_dci_false_drains_queued_iterators_together(tmp_path, layout):
    log = []

    class Logged(DataChunkIterator):
        def __next__(self):
            chunk = super().__next__()
            log.append(self.tag)
            return chunk

    first = Logged(data=DATA, buffer_size=250)
    first.tag = "a"
    second = Logged(data=DATA[::-1].copy(), buffer_size=250)
    second.tag = "b"
    table = DynamicTable(name="t", description="two streamed columns", id=list(range(1000)),
                         columns=[
        VectorData(name="a", description="first", data=first),
        VectorData(name="b", description="second", data=second)])
    path = tmp_path / "q.zarr"
    with ZarrIO(str(path), mode="w", zarr_format=layout, manager=get_manager()) as io:
        io.write(table, exhaust_dci=False)
    # the queue advanced the iterators in turn
    assert log == ["a", "b"] * 4
    log.clear()
    first = Logged(data=DATA, buffer_size=250)
    first.tag = "a"
    second = Logged(data=DATA, buffer_size=250)
    second.tag = "b"
    table = DynamicTable(name="t", description="two streamed columns", id=list(range(1000)),
                         columns=[VectorData(name="a", description="first", data=first),
                                  VectorData(name="b", description="second", data=second)])
    with ZarrIO(str(tmp_path / "e.zarr"), mode="w", zarr_format=layout,
                manager=get_manager()) as io:
        io.write(table, exhaust_dci=True)
    assert log == ["a"] * 4 + ["b"] * 4  # exhaust_dci=True: one iterator after the other
    with ZarrIO(str(path), mode="r", manager=get_manager()) as io:
        back = io.read()
        np.testing.assert_array_equal(back["a"].data[()], DATA)
        np.testing.assert_array_equal(back["b"].data[()], DATA[::-1])
        assert len(back) == 1000


def test_progress_bar_keyword(tmp_path, capsys):
    dci = ArrayIterator(DATA, buffer_shape=(100, 5), chunk_shape=(100, 5))
    path = write_nwb(tmp_path / "p.nwb.zarr", nwbfile_with(dci), 3, progress=True)
    err = capsys.readouterr().err
    # a bar labelled with the dataset path, counting the 10 buffers
    assert "/acquisition/ts/data:" in err and "0/10 [" in err
    np.testing.assert_array_equal(read_values(path), DATA)


def test_iterator_display_progress(tmp_path, capsys):
    dci = ArrayIterator(DATA, buffer_shape=(200, 5), chunk_shape=(100, 5), display_progress=True,
                        progress_bar_options={"desc": "mine"})
    path = write_nwb(tmp_path / "p.nwb.zarr", nwbfile_with(dci), 2)
    err = capsys.readouterr().err
    assert "mine" in err and "/acquisition/ts/data" not in err
    np.testing.assert_array_equal(read_values(path), DATA)


# bad iterators ----------------------------------------------------------------------------
class _BadShape(DataChunkIterator):
    def __next__(self):
        chunk = super().__next__()
        if chunk.selection[0].start == 200:  # the third buffer is one row short
            return DataChunk(data=chunk.data[:-1], selection=chunk.selection)
        return chunk


@pytest.mark.parametrize("exhaust_dci", [True, False])
@LAYOUT
def test_iterator_wrong_shape(tmp_path, layout, exhaust_dci):
    dci = _BadShape(data=DATA, buffer_size=100, maxshape=DATA.shape, dtype=DATA.dtype)
    nwbfile = nwbfile_with(dci)
    extra = nwbfile_with(DATA[:3], name="first")  # written first, must stay intact
    nwbfile.add_acquisition(extra.acquisition.pop("first"))
    path = tmp_path / "s.nwb.zarr"
    with pytest.raises(UnsupportedDataError, match=r"shape \(99, 5\) for selection \[200:300, :"
                                                   r"\], which has shape \(100, 5\)") as info:
        write_nwb(path, nwbfile, layout, exhaust_dci=exhaust_dci)
    assert info.value.path == "/acquisition/ts/data"
    # iterators are drained once the metadata of the whole file is stored: the file reads back
    names, values = read_after_failure(path, "first")
    assert names == {"first", "ts"}
    np.testing.assert_array_equal(values, DATA[:3])
    # the buffers before the bad one are stored
    names, values = read_after_failure(path, "ts")
    np.testing.assert_array_equal(values[:200], DATA[:200])


class _FloatIterator(ArrayIterator):
    def _get_data(self, selection):
        return self.array[selection] + 0.5


@LAYOUT
def test_iterator_wrong_dtype(tmp_path, layout):
    dci = _FloatIterator(DATA, buffer_shape=(100, 5), chunk_shape=(100, 5))
    nwbfile = nwbfile_with(dci)
    path = tmp_path / "d.nwb.zarr"
    with pytest.raises(UnsupportedDataError, match="dtype float64 .* the dataset is int32") as info:
        write_nwb(path, nwbfile, layout)
    assert info.value.path == "/acquisition/ts/data"
    names, _ = read_after_failure(path)
    assert names == {"ts"}


def test_iterator_beyond_maxshape(tmp_path):
    class Overflow(DataChunkIterator):
        def __next__(self):
            chunk = super().__next__()
            rows = chunk.selection[0]
            return DataChunk(data=chunk.data, selection=np.s_[rows.start + 950:rows.stop + 950])

    dci = Overflow(data=DATA, buffer_size=100, maxshape=DATA.shape, dtype=DATA.dtype)
    with pytest.raises(UnsupportedDataError, match="beyond the dataset's maximum shape") as info:
        write_nwb(tmp_path / "o.nwb.zarr", nwbfile_with(dci), 3)
    assert info.value.path == "/acquisition/ts/data"
