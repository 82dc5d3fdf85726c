"""The readers of Zarr format-2 files of hdmf-zarr 0.14 (``ZarrV2IO``, ``NWBZarrV2IO``) and
its conversion helpers, so that code written for 0.14 runs unchanged (API-0.14.md).

hdmf-zarr 0.14 reads format-2 files (layout L2, FORMAT.md section 2) only through these classes.
:class:`~hdmf_zarr.backend.ZarrIO` and :class:`~hdmf_zarr.nwb.NWBZarrIO` of this package read
both layouts, so the classes here are thin read-only fronts of them: they refuse every mode but
``r``/``r-``, refuse ``write``/``export``, list the entries they had to leave out
(:attr:`ZarrV2IO.skipped_entries`) and convert a file to layout L3 (Zarr format 3, FORMAT.md
section 3) with :meth:`NWBZarrV2IO.export_to_v3` or :meth:`NWBZarrV2IO.convert_to_v3`.

Pickle: 0.14 decodes arrays written with the pickle object codec only when
``allow_pickle=True``, with Python's general unpickler. This package never runs a general
unpickler on a file, whatever ``allow_pickle`` says: the pickled arrays written by 0.13 are
decoded by a restricted decoder that builds only the plain values those arrays hold and refuses
anything else with :class:`UnsafePickleCodecError` (FORMAT.md section 2.5). ``allow_pickle`` is
accepted and reported, and changes nothing.
"""

from __future__ import annotations

import warnings

from hdmf.utils import docval, get_docval, popargs

from .backend import ZarrIO
from .errors import (
    IncompleteConversionError,
    NotHdmfStoreError,
    StoreModeError,
    UnsafePickleCodecError,
)
from .nwb import NWBZarrIO, default_storage_options
from .read.builders import BrokenLinkWarning

__all__ = ["ZarrV2IO", "NWBZarrV2IO", "is_zarr_v2_file", "IncompleteConversionError",
           "UnsafePickleCodecError"]

_V2_MODES = ("r", "r-")
#: the arguments hdmf-zarr 0.14 puts first, in its order
_FIRST = ("path", "mode", "manager", "storage_options", "force_overwrite")

_ALLOW_PICKLE = {
    "name": "allow_pickle", "type": bool, "default": False,
    "doc": "accepted for hdmf-zarr 0.14 compatibility and ignored: pickled arrays are only "
           "ever decoded by the restricted decoder of FORMAT.md 2.5, never by a general "
           "unpickler"}


def _check_read_mode(cls_name: str, mode, path) -> None:
    if mode not in _V2_MODES:
        raise StoreModeError(
            f"{cls_name} only reads (mode 'r' or 'r-'), not mode {mode!r}; write with ZarrIO or "
            "NWBZarrIO, or convert the file with export_to_v3/convert_to_v3", str(path))


class ZarrV2IO(ZarrIO):
    """Read-only reader of HDMF files in Zarr format 2 (layout L2, FORMAT.md section 2), as
    hdmf-zarr 0.14 names it.

    Takes the arguments of :class:`~hdmf_zarr.backend.ZarrIO` plus ``allow_pickle``. A file in
    Zarr format 3 is read as well (this package reads both layouts).

    Parameters
    ----------
    path : str, pathlib.Path or zarr.abc.store.Store
        The store to read (directory, ``.zip``, URL or store).
    mode : {'r', 'r-'}
        ``r`` uses the consolidated metadata, ``r-`` ignores it.
    manager : hdmf.build.BuildManager, optional
    storage_options : dict, optional
        fsspec options for URLs.
    force_overwrite : bool
        Accepted for compatibility; ignored.
    allow_pickle : bool
        Accepted for compatibility and **ignored**: ``allow_pickle=True`` never enables a
        general unpickler. Arrays written with the pickle object codec are decoded by this
        package's restricted decoder (FORMAT.md 2.5), which reads what hdmf-zarr 0.13 wrote and
        raises :class:`UnsafePickleCodecError` for anything else, whatever this flag says.

    Raises
    ------
    StoreModeError
        For a mode other than ``r``/``r-``, and from :meth:`write` and :meth:`export`.
    NotHdmfStoreError
        When ``path`` holds no Zarr group.
    """

    # 0.14's order of the arguments first (positional calls), then those of ZarrIO
    @docval(*get_docval(ZarrIO.__init__, *_FIRST), _ALLOW_PICKLE,
            *get_docval(ZarrIO.__init__, "synchronizer", "object_codec_class", "zarr_format"))
    def __init__(self, **kwargs):
        allow_pickle = popargs("allow_pickle", kwargs)
        _check_read_mode(type(self).__name__, kwargs.get("mode"), kwargs.get("path"))
        self._allow_pickle = allow_pickle
        self._skipped_entries: list[str] = []
        super().__init__(**kwargs)

    @property
    def allow_pickle(self) -> bool:
        """The ``allow_pickle`` given (it enables no general unpickler; see the class notes)."""
        return self._allow_pickle

    @property
    def skipped_entries(self) -> list[str]:
        """``"<kind> <object path>: <reason>"`` for every entry the read left out (broken links
        and references, also reported as ``BrokenLinkWarning``); empty until the file is read
        and when nothing was left out. A copy: changing it changes nothing here."""
        return list(self._skipped_entries)

    def read_builder(self):
        """The root GroupBuilder; entries left out are recorded in :attr:`skipped_entries`."""
        if self._builder is not None:
            return self._builder
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                builder = super().read_builder()
            finally:
                caught_now = list(caught)
        for w in caught_now:
            if issubclass(w.category, BrokenLinkWarning):
                self._skipped_entries.append(str(w.message).removeprefix("skipping "))
        for w in caught_now:  # pass every warning on as it was raised
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return builder

    def write(self, *args, **kwargs):
        """Refused: this reader is read-only.

        Raises
        ------
        StoreModeError
            Always.
        """
        raise StoreModeError(f"{type(self).__name__} is read-only; write with ZarrIO or "
                             "NWBZarrIO", self.source or "<store>")

    def export(self, *args, **kwargs):
        """Refused: export *from* this reader (as ``src_io``) into a ``ZarrIO``/``NWBZarrIO``
        opened for writing, or use ``export_to_v3``.

        Raises
        ------
        StoreModeError
            Always.
        """
        raise StoreModeError(f"{type(self).__name__} is read-only: pass it as src_io to the "
                             "export of a ZarrIO/NWBZarrIO opened for writing, or use "
                             "export_to_v3", self.source or "<store>")


class NWBZarrV2IO(NWBZarrIO, ZarrV2IO):
    """Read-only reader of NWB files in Zarr format 2, as hdmf-zarr 0.14 names it: the PyNWB
    front of :class:`ZarrV2IO`.

    Takes the arguments of :class:`~hdmf_zarr.nwb.NWBZarrIO` (``load_namespaces`` among them)
    plus ``allow_pickle``, which is accepted and **ignored**: it never enables a general
    unpickler (see :class:`ZarrV2IO`).

    Examples
    --------
    >>> with NWBZarrV2IO("old.nwb.zarr", mode="r") as io:          # doctest: +SKIP
    ...     nwbfile = io.read()
    ...     io.export_to_v3("new.nwb.zarr")
    >>> NWBZarrV2IO.convert_to_v3("old.nwb.zarr", "new2.nwb.zarr")  # doctest: +SKIP
    """

    @docval(*get_docval(NWBZarrIO.__init__, *_FIRST), _ALLOW_PICKLE,
            *get_docval(NWBZarrIO.__init__, "load_namespaces", "extensions", "synchronizer",
                        "object_codec_class", "zarr_format", "driver", "aws_region"))
    def __init__(self, **kwargs):
        allow_pickle = popargs("allow_pickle", kwargs)
        # before NWBZarrIO opens the store to load its namespaces
        _check_read_mode(type(self).__name__, kwargs.get("mode"), kwargs.get("path"))
        super().__init__(**kwargs)
        self._allow_pickle = allow_pickle

    def export(self, *args, **kwargs):
        """Refused (see :meth:`ZarrV2IO.export`)."""
        ZarrV2IO.export(self, *args, **kwargs)

    def export_to_v3(self, path, nwbfile=None, write_args: dict | None = None,
                     storage_options: dict | None = None) -> None:
        """Write the content of this file as a new NWB file in Zarr format 3 (layout L3).

        Parameters
        ----------
        path : str or pathlib.Path
            The destination. It must not exist (mode ``w-``): nothing stored is overwritten.
        nwbfile : pynwb.NWBFile, optional
            The NWBFile read from this IO (``io.read()``), possibly changed; None copies the
            file as stored.
        write_args : dict, optional
            Keywords of :meth:`~hdmf_zarr.backend.ZarrIO.write_builder` (``number_of_jobs``,
            ``link_data``...).
        storage_options : dict, optional
            fsspec options of the destination when it is a URL.

        Raises
        ------
        StoreModeError
            When something exists at ``path``.
        """
        with NWBZarrIO(path, mode="w-", zarr_format=3, storage_options=storage_options) as out:
            out.export(src_io=self, nwbfile=nwbfile, write_args=write_args)

    @staticmethod
    def convert_to_v3(source_path, dest_path, write_args: dict | None = None,
                      storage_options: dict | None = None, allow_pickle: bool = False) -> None:
        """Convert the NWB file at ``source_path`` (Zarr format 2) to a new file in Zarr format
        3 at ``dest_path``, in one call.

        Parameters
        ----------
        source_path : str, pathlib.Path or zarr.abc.store.Store
            The file to convert. An ``s3://`` URL given without ``storage_options`` is read
            anonymously (``{"anon": True}``).
        dest_path : str or pathlib.Path
            The destination; it must not exist.
        write_args : dict, optional
            Keywords of :meth:`~hdmf_zarr.backend.ZarrIO.write_builder`.
        storage_options : dict, optional
            fsspec options of the source.
        allow_pickle : bool
            Ignored (see :class:`ZarrV2IO`): never enables a general unpickler.

        Raises
        ------
        IncompleteConversionError
            When entries of the source cannot be read (broken links or references, listed in
            the error's ``skipped_entries``); raised before anything is written.
            ``NWBZarrV2IO(...).export_to_v3`` converts what can be read.
        StoreModeError
            When something exists at ``dest_path``.
        """
        options = default_storage_options(source_path, storage_options)
        with NWBZarrV2IO(source_path, mode="r", storage_options=options,
                         allow_pickle=allow_pickle) as src:
            src.read_builder()
            skipped = src.skipped_entries
            if skipped:
                raise IncompleteConversionError(
                    f"{len(skipped)} entries cannot be read and would be left out of the "
                    "conversion: " + "; ".join(skipped[:10]) + ("; ..." if len(skipped) > 10
                                                                else ""),
                    str(src.source or source_path), skipped_entries=skipped)
            src.export_to_v3(dest_path, write_args=write_args)

    @staticmethod  # 0.14's order: allow_pickle before storage_options (API-0.14.md)
    def read_nwb(path, allow_pickle: bool = False,  # type: ignore[override]
                 storage_options: dict | None = None):
        """Open ``path`` read-only and return its NWBFile, as :meth:`NWBZarrIO.read_nwb`
        (an ``s3://`` URL without ``storage_options`` is read anonymously).

        ``allow_pickle`` is ignored (see :class:`ZarrV2IO`).
        """
        io = NWBZarrV2IO(path, mode="r", load_namespaces=True, allow_pickle=allow_pickle,
                         storage_options=default_storage_options(path, storage_options))
        return io.read()


def is_zarr_v2_file(path, storage_options: dict | None = None) -> bool:
    """True when ``path`` holds a Zarr format-2 group at its root (an L2 file, FORMAT.md 2.1).

    Parameters
    ----------
    path : str, pathlib.Path or zarr.abc.store.Store
        A directory, ``.zip``, URL or store. An ``s3://`` URL given without
        ``storage_options`` is read anonymously.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    bool
        False for a format-3 store and for a path that holds no Zarr store.

    Raises
    ------
    StoreAccessError
        When the store cannot be reached (a remote endpoint that does not answer, access
        refused): a store that cannot be read is not reported as "not format 2".
    """
    from zarr.abc.store import Store

    from .format.layout2 import L2
    from .storage import open_store
    from .storage._access import store_access
    from .zarr_bridge import store_io

    options = default_storage_options(path, storage_options)
    where = None if isinstance(path, Store) else str(path)
    with store_access(where):
        try:
            store, _location = open_store(path, "r", options)
        except NotHdmfStoreError:
            return False
        try:
            doc = store_io.get_json(store, L2.group_document)
        except ValueError:  # not JSON: not a format-2 group
            return False
        finally:
            if not isinstance(path, Store):
                close = getattr(store, "close", None)
                if close is not None:
                    close()
    return L2().is_group_document(doc)
