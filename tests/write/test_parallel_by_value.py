"""Iterators whose class the worker processes cannot import (write/parallel.py).

Workers start by ``forkserver`` (``spawn`` elsewhere): their ``__main__`` is not the caller's,
so a ``GenericDataChunkIterator`` subclass defined in a notebook, in a ``__main__`` script or
created at run time cannot be pickled by reference. Such iterators travel by value
(cloudpickle); every value written by the workers is read back.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _large import LAYOUT, nwbfile_with, read_values, write_nwb

from _shared import ArrayIterator

DATA = np.arange(1200 * 10, dtype="<i4").reshape(1200, 10)

SCRIPT = textwrap.dedent('''
    """A user's script: iterator classes defined in __main__, written with two workers."""
    import sys

    import numpy as np
    from hdmf.data_utils import GenericDataChunkIterator
    from pynwb.testing.mock.base import mock_TimeSeries
    from pynwb.testing.mock.file import mock_NWBFile

    from hdmf_zarr.nwb import NWBZarrIO

    OFFSET = 7  # a global of __main__ the iterator's code uses


    class PoolIterator(GenericDataChunkIterator):
        """Pickled through _to_dict/_from_dict (hdmf's __reduce__)."""

        def __init__(self, array, **kwargs):
            self.array = array
            self._kwargs = kwargs
            super().__init__(**kwargs)

        def _get_data(self, selection):
            return self.array[selection] + OFFSET

        def _get_maxshape(self):
            return self.array.shape

        def _get_dtype(self):
            return self.array.dtype

        def _to_dict(self):
            return {"array": self.array, "kwargs": self._kwargs}

        @classmethod
        def _from_dict(cls, state):
            return cls(state["array"], **state["kwargs"])


    class PlainIterator(GenericDataChunkIterator):
        """Pickled as class and attributes."""

        def __init__(self, array, **kwargs):
            self.array = array
            super().__init__(**kwargs)

        def _get_data(self, selection):
            return self.array[selection] * 2

        def _get_maxshape(self):
            return self.array.shape

        def _get_dtype(self):
            return self.array.dtype


    if __name__ == "__main__":
        path, layout = sys.argv[1], int(sys.argv[2])
        data = np.arange(1200 * 10, dtype="<i4").reshape(1200, 10)
        nwbfile = mock_NWBFile()
        for name, cls in (("pool", PoolIterator), ("plain", PlainIterator)):
            dci = cls(data, buffer_shape=(100, 10), chunk_shape=(100, 10),
                      display_progress=False)
            mock_TimeSeries(name=name, data=dci, rate=10.0, nwbfile=nwbfile)
        with NWBZarrIO(path, mode="w", zarr_format=layout) as io:
            io.write(nwbfile, number_of_jobs=2)
        print("written")
''')


@pytest.mark.parametrize("how, layout", [("command", 2), ("command", 3), ("file", 3)])
def test_iterator_classes_of_a_main_script(tmp_path, how, layout):
    """``command`` (``python -c``): ``__main__`` has no file, as in a notebook, so the workers
    cannot re-import it (pickling by reference failed there: "Can't get attribute ... on
    <module '__mp_main__'>"); ``file``: a script the workers re-import, which must keep
    working."""
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT)
    out = tmp_path / "main.nwb.zarr"
    args = [str(script)] if how == "file" else ["-c", SCRIPT]
    done = subprocess.run([sys.executable, *args, str(out), str(layout)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "written"
    np.testing.assert_array_equal(read_values(out, "pool"), DATA + 7)
    np.testing.assert_array_equal(read_values(out, "plain"), DATA * 2)


@LAYOUT
def test_iterator_class_created_at_run_time(tmp_path, layout):
    scale = np.int32(3)
    cls = type("RunTimeIterator", (ArrayIterator,),
               {"_get_data": lambda self, selection: self.array[selection] * scale - 1})
    dci = cls(DATA, buffer_shape=(100, 10), chunk_shape=(100, 10), display_progress=False)
    path = write_nwb(tmp_path / "t.nwb.zarr", nwbfile_with(dci), layout, number_of_jobs=2)
    np.testing.assert_array_equal(read_values(path), DATA * 3 - 1)


def test_iterator_class_local_to_a_function(tmp_path):
    class Local(ArrayIterator):
        def _get_data(self, selection):
            return -self.array[selection]

    dci = Local(DATA, buffer_shape=(100, 10), chunk_shape=(100, 10), display_progress=False)
    path = write_nwb(tmp_path / "l.nwb.zarr", nwbfile_with(dci), 3, number_of_jobs=2)
    np.testing.assert_array_equal(read_values(path), -DATA)

