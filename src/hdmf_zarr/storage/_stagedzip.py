"""Writing a ``.zip`` store: the keys go to a staging directory and are packed into the zip
file once, when the write ends (a zip member cannot be replaced). Re-exported by
:mod:`hdmf_zarr.storage`.
"""

from __future__ import annotations

import os

from zarr.storage import LocalStore

__all__ = ["StagedZip"]


class _StagingStore(LocalStore):
    """The ``LocalStore`` of a :class:`StagedZip`'s staging directory, naming its zip."""

    hdmf_zarr_staged_zip: StagedZip | None = None


class StagedZip:
    """A zip store written once: the write goes to a staging directory beside the zip file, and
    :meth:`pack` stores every key into the zip exactly once (a zip member cannot be replaced, and
    the writer rewrites some documents, e.g. consolidated metadata).

    Parameters
    ----------
    location : str
        Path of the ``.zip`` file to create.
    """

    def __init__(self, location: str):
        import tempfile

        self.location = location
        parent = os.path.dirname(location) or "."
        os.makedirs(parent, exist_ok=True)
        self.staging = tempfile.mkdtemp(prefix=".staging-", suffix=".zarr", dir=parent)
        self.store = _StagingStore(self.staging)
        self.store.hdmf_zarr_staged_zip = self

    def pack(self) -> None:
        """Write the zip file from the staging directory, then remove the staging directory."""
        import shutil
        import zipfile

        tmp = self.location + ".partial"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for root, _dirs, files in os.walk(self.staging):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    zf.write(full, os.path.relpath(full, self.staging).replace(os.sep, "/"))
        os.replace(tmp, self.location)
        shutil.rmtree(self.staging, ignore_errors=True)

    def discard(self) -> None:
        """Remove the staging directory without writing the zip file."""
        import shutil

        shutil.rmtree(self.staging, ignore_errors=True)
