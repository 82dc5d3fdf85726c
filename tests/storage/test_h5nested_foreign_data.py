"""H5NestedStore containers hold only datasets stored in them (issue 14 item 2): an HDF5
external link, a soft link, a virtual dataset or external raw storage in a forged container
would make a "chunk" read bytes of any file on the machine; they are refused with FormatError
naming the container."""

import h5py
import numpy as np
import pytest
import zarr

from hdmf_zarr.errors import FormatError
from hdmf_zarr.storage import H5NestedStore

SECRET = np.frombuffer(b"private!", dtype=np.uint8)


def _store(tmp_path):
    root = tmp_path / "h.zarr"
    array = zarr.create_array(H5NestedStore(str(root), consolidate_depth=0), name="a",
                              shape=(8,), chunks=(8,), dtype="uint8", compressors=None,
                              zarr_format=3)
    array[:] = np.arange(8, dtype=np.uint8)
    container = root / "a" / "c.h5shard"
    with h5py.File(container, "r") as f:
        assert list(f) == ["0"]  # the one chunk is member "0"
    return root, container


def _forge(tmp_path, container, how):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("secret", data=SECRET)
    raw = tmp_path / "secret.bin"
    raw.write_bytes(SECRET.tobytes())
    with h5py.File(container, "r+") as f:
        del f["0"]
        if how == "external-link":
            f["0"] = h5py.ExternalLink(str(other), "/secret")
        elif how == "soft-link":
            f.create_dataset("hidden", data=SECRET)
            f["0"] = h5py.SoftLink("/hidden")
        elif how == "virtual":
            layout = h5py.VirtualLayout(shape=(8,), dtype=np.uint8)
            layout[:] = h5py.VirtualSource(str(other), "secret", shape=(8,))
            f.create_virtual_dataset("0", layout)
        else:  # external raw storage
            f.create_dataset("0", shape=(8,), dtype=np.uint8, external=[(str(raw), 0, 8)])


@pytest.mark.parametrize("how", ["external-link", "soft-link", "virtual", "external-storage"])
def test_foreign_data_in_a_container_is_refused(tmp_path, how):
    root, container = _store(tmp_path)
    _forge(tmp_path, container, how)
    array = zarr.open_array(H5NestedStore(str(root), read_only=True), path="a", mode="r")
    with pytest.raises(FormatError, match="stored in (them|external)|virtual") as exc:
        array[:]
    assert str(container) in str(exc.value)


def test_a_plain_container_still_reads(tmp_path):
    root, _container = _store(tmp_path)
    array = zarr.open_array(H5NestedStore(str(root), read_only=True), path="a", mode="r")
    assert list(array[:]) == list(range(8))
