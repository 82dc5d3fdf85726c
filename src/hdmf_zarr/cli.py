"""The ``hdmf-zarr`` command: convert, info, validate.

``hdmf-zarr convert SRC DST``
    HDF5 NWB -> Zarr, Zarr -> HDF5 (DST ending ``.nwb``, ``.h5`` or ``.hdf5``) and Zarr -> Zarr,
    through ``export`` of pynwb's ``NWBHDF5IO`` and this package's ``NWBZarrIO``. For a Zarr
    destination ``--chunks``, ``--shards`` and ``--compressor`` apply to the *large* datasets:
    numeric, not scalar, at least 1 MiB (``write.options.LARGE_DATASET_BYTES``); ``--jobs N``
    copies those datasets with N worker processes. Progress bars are on (``--no-progress``).
``hdmf-zarr pack SRC [DST] --store h5|zip|sqlite`` / ``hdmf-zarr unpack SRC DST``
    Move a directory store into a container store (in place for ``h5`` without DST) and back
    (``hdmf_zarr.storage.pack``/``unpack``). ``convert --store dir|zip|h5|sqlite`` picks the
    destination store.
``hdmf-zarr info PATH``
    The tree of groups and arrays of a Zarr store with types, shapes, codecs and sizes.
``hdmf-zarr validate PATH``
    Validation of an NWB file against the specifications cached in it.

Every failure is reported as one ``Error: ...`` line on stderr with exit code 1 (2 for wrong
usage, as click does).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import zipfile
from pathlib import Path

import click
from tqdm import tqdm

from .convert_options import zarr_write_args
from .format.select import LAYOUTS, layout_of_documents

__all__ = ["main"]

HDF5_SUFFIXES = (".nwb", ".h5", ".hdf5")
# FORMAT.md 4: attributes that only an HDMF writer puts on nodes.
_HDMF_NODE_ATTRIBUTES = ("zarr_link", "zarr_dtype", "_LINKS", "_DTYPE")


# --- stores ---------------------------------------------------------------------------------

def _open_read_store(path):
    """A read-only Zarr store for ``path``.

    Uses ``hdmf_zarr.storage.open_store`` when that module provides it (it knows every store
    kind of this package); otherwise a ``ZipStore`` for ``.zip`` paths and a ``LocalStore``
    for anything else.
    """
    try:
        from hdmf_zarr.storage import open_store
    except ImportError:
        open_store = None
    if open_store is not None:
        from .errors import HdmfZarrError

        try:
            opened = open_store(str(path), mode="r")
        except HdmfZarrError as exc:
            raise click.ClickException(str(exc)) from exc
        # open_store returns (store, location); accept a bare store as well
        return opened[0] if isinstance(opened, tuple) else opened
    import zarr

    from .zarr_bridge.runtime import run

    text = str(path)
    if "://" not in text and not os.path.exists(text):
        raise click.ClickException(f"{text}: no such file or directory")
    if text.endswith(".zip"):
        return run(zarr.storage.ZipStore.open(text, mode="r"))
    return zarr.storage.LocalStore(text, read_only=True)


def _close(store) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


def _is_hdf5(path: Path) -> bool:
    import h5py

    try:
        return path.is_file() and h5py.is_hdf5(path)
    except OSError:
        return False


def _hdf5_is_hdmf(path: Path) -> bool:
    import h5py

    with h5py.File(path, "r") as f:
        return _is_typed_root(dict.fromkeys(f.attrs.keys()))


def _zarr_layout(path: Path) -> str | None:
    """``"L2"``/``"L3"`` when ``path`` holds a Zarr group root, else None (never raises)."""
    from .inspect import detect_layout

    try:
        store = _open_read_store(path)
    except Exception:
        return None
    try:
        return detect_layout(store)
    except Exception:
        return None
    finally:
        _close(store)


def _is_typed_root(attrs) -> bool:
    return isinstance(attrs, dict) and (".specloc" in attrs or (
        "namespace" in attrs and ("neurodata_type" in attrs or "data_type" in attrs)))


def _zarr_is_hdmf(path: Path) -> bool:
    """FORMAT.md 4: a typed root or cached specifications, else any node with HDMF attributes."""
    from .inspect import walk_store
    from .zarr_bridge.store_io import get_json

    store = _open_read_store(path)
    try:
        attrs = None
        for layout in LAYOUTS:  # L3 first, as detection (FORMAT.md 4)
            attrs = layout.attributes_in(get_json(store, layout.document_holding_attributes()))
            if attrs is not None:
                break
        if _is_typed_root(attrs):
            return True
        nodes = walk_store(store)
    finally:
        _close(store)
    return any(key in n.attributes for n in nodes for key in _HDMF_NODE_ATTRIBUTES)


def _source_kind(src: Path) -> str:
    """``"hdf5"`` or ``"zarr"`` for an HDMF source; ClickException otherwise."""
    if _is_hdf5(src):
        if not _hdf5_is_hdmf(src):
            raise click.ClickException(
                f"{src}: an HDF5 file but not an HDMF/NWB file (its root has no 'namespace' "
                "and 'neurodata_type' attributes and no cached specifications)")
        return "hdf5"
    if _zarr_layout(src) is not None:
        if not _zarr_is_hdmf(src):
            raise click.ClickException(
                f"{src}: a Zarr store but not an HDMF/NWB file (no typed root, no cached "
                "specifications, no HDMF attributes)")
        return "zarr"
    raise click.ClickException(f"{src}: neither an HDF5 file nor a Zarr store")


def _check_replaceable(dst: Path) -> None:
    """Refuse (before anything is written) to replace a DST that is not a store or HDF5 file."""
    if dst.is_dir() and not dst.is_symlink():
        looks_like_store = layout_of_documents(p.name for p in dst.iterdir()) is not None
        if not looks_like_store and any(dst.iterdir()):
            raise click.ClickException(
                f"{dst}: refusing to overwrite a directory that is not a Zarr store")
        return
    if dst.is_symlink() and not dst.exists():
        return
    if dst.stat().st_size and not (_is_hdf5(dst) or zipfile.is_zipfile(dst) or _is_sqlite(dst)):
        raise click.ClickException(
            f"{dst}: refusing to overwrite a file that is neither HDF5, a zip archive nor SQLite")


def _check_not_nested(src: Path, dst: Path) -> None:
    """Refuse SRC and DST that are the same path or lie one inside the other (a DST written
    inside SRC changes the source being read; replacing a DST holding SRC deletes the source)."""
    real_src = src.resolve()
    real_dst = dst.resolve()  # DST need not exist: its existing parents are resolved
    if real_src == real_dst:
        raise click.ClickException(f"{dst}: SRC and DST are the same")
    if real_src in real_dst.parents:
        raise click.ClickException(f"{dst}: DST lies inside SRC {src}; choose a DST outside it")
    if real_dst in real_src.parents:
        raise click.ClickException(f"{dst}: DST contains SRC {src}; choose a DST outside it")


def _staging_path(dst: Path) -> Path:
    """A new hidden sibling of DST with DST's suffix (the suffix picks the store kind)."""
    import uuid

    return dst.with_name(f".{dst.stem}.converting-{uuid.uuid4().hex[:12]}{dst.suffix}")


def _install(staged: Path, dst: Path) -> None:
    """Put the finished conversion ``staged`` at ``dst``, replacing an existing DST only now.

    A file is replaced atomically (``os.replace``). A directory DST is first renamed aside and
    removed only after ``staged`` took its name, so that at every moment the old or the new
    conversion exists under a name next to DST.
    """
    if not (dst.exists() or dst.is_symlink()):
        os.replace(staged, dst)
        return
    if staged.is_dir() or (dst.is_dir() and not dst.is_symlink()):
        aside = dst.with_name(f".{dst.name}.replaced-{staged.name.rsplit('-', 1)[-1]}")
        os.replace(dst, aside)
        try:
            os.replace(staged, dst)
        except BaseException:
            os.replace(aside, dst)
            raise
        _discard_partial(aside)
        return
    os.replace(staged, dst)


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def _discard_partial(dst: Path) -> None:
    if dst.is_dir() and not dst.is_symlink():
        shutil.rmtree(dst, ignore_errors=True)
    elif dst.exists() or dst.is_symlink():
        dst.unlink()


# --- convert --------------------------------------------------------------------------------

def _export(src: Path, src_kind: str, dst: Path, dst_kind: str, zarr_format: int,
            bar: tqdm, zarr_args: dict | None = None, dst_store=None) -> None:
    from pynwb import NWBHDF5IO

    from .nwb import NWBZarrIO

    write_args = {"link_data": False, **(zarr_args or {})}
    target = str(dst) if dst_store is None else dst_store
    bar.set_description_str("open")
    if src_kind == "hdf5":  # HDF5 -> Zarr
        with NWBHDF5IO(str(src), "r") as src_io, \
                NWBZarrIO(target, mode="w", zarr_format=zarr_format) as dst_io:
            bar.update(1)
            bar.set_description_str("export")
            dst_io.export(src_io=src_io, write_args=write_args)
    elif dst_kind == "hdf5":  # Zarr -> HDF5
        with NWBZarrIO(str(src), "r") as s, NWBHDF5IO(str(dst), "w") as d:
            bar.update(1)
            bar.set_description_str("export")
            d.export(src_io=s, write_args={"link_data": False})
    else:  # Zarr -> Zarr
        with NWBZarrIO(str(src), "r") as s, \
                NWBZarrIO(target, mode="w", zarr_format=zarr_format) as d:
            bar.update(1)
            bar.set_description_str("export")
            d.export(src_io=s, write_args=write_args)
    bar.update(1)


def _summary(dst: Path, dst_kind: str) -> tuple[str, int, int]:
    """(layout, number of nodes, stored bytes) of a written destination."""
    if dst_kind == "hdf5":
        import h5py

        count = 1
        with h5py.File(dst, "r") as f:
            def visit(_name, _obj):
                nonlocal count
                count += 1
            f.visititems(visit)
        return "HDF5", count, dst.stat().st_size
    from .inspect import detect_layout, walk_store

    store = _open_read_store(dst)
    try:
        layout = detect_layout(store)
        nodes = walk_store(store)
    finally:
        _close(store)
    return layout, len(nodes), sum(n.stored_bytes or 0 for n in nodes)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hdmf_zarr")
def main() -> None:
    """Zarr storage for HDMF and NWB: convert, inspect and validate files."""


@main.command()
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--zarr-format", "zarr_format", type=click.Choice(["2", "3"]), default=None,
              help="Zarr format of a Zarr destination: 3 (layout L3, default) or 2 (layout "
                   "L2, readable by hdmf-zarr 0.13).")
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
@click.option("--chunks", default=None, metavar="N,N,...",
              help="Chunk shape of the large datasets (numeric, >= 1 MiB) that have as many "
                   "axes, each entry clipped to the data, e.g. 30000,64. Default: the HDF5 "
                   "chunks, else chunks of at most 4 MiB.")
@click.option("--shards", default=None, metavar="auto|none|N,N,...",
              help="Layout L3: shard shape of the large datasets that have as many axes (a "
                   "multiple of the chunk shape), 'none', or 'auto' (the default: arrays of "
                   "more than 256 chunks get shards of clamp(size/256, 64 MiB, 512 MiB)).")
@click.option("--compressor", default=None, metavar="SPEC",
              help="Compressor of the large datasets: zstd[:LEVEL], "
                   "blosc[:CNAME[:LEVEL[:noshuffle|shuffle|bitshuffle]]], gzip[:LEVEL], "
                   "zlib[:LEVEL], lz4 or none. Default: the HDF5 filters, else the layout's "
                   "default.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes copying the large datasets.")
@click.option("--progress/--no-progress", default=True,
              help="Progress bars (on by default); --no-progress silences every bar.")
@click.option("--store", "store_kind", type=click.Choice(["dir", "zip", "h5", "sqlite"]),
              default=None,
              help="Store of a Zarr destination: dir (a directory), zip (DST ending .zip), h5 "
                   "(H5NestedStore: chunks packed in HDF5 containers) or sqlite (SQLiteStore: "
                   "one file). Default: by DST's suffix (.zip, .sqlite/.sqlite3/.db, else dir).")
@click.option("--consolidate-depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="--store h5: leading chunk indices that pick a container.")
def convert(src: Path, dst: Path, zarr_format: str | None, overwrite: bool, chunks: str | None,
            shards: str | None, compressor: str | None, jobs: int, progress: bool,
            store_kind: str | None, consolidate_depth: int) -> None:
    """Convert SRC to DST: HDF5 NWB -> Zarr, Zarr -> HDF5 (DST ending .nwb/.h5/.hdf5),
    or Zarr -> Zarr."""
    started = time.perf_counter()
    dst_kind = "hdf5" if dst.suffix.lower() in HDF5_SUFFIXES else "zarr"
    if dst_kind == "hdf5" and zarr_format is not None:
        raise click.UsageError("--zarr-format applies to a Zarr destination only")
    fmt = int(zarr_format or 3)
    _check_store_kind(dst, dst_kind, store_kind)
    zarr_args = zarr_write_args(dst_kind, fmt, chunks, shards, compressor, jobs, progress)
    _check_not_nested(src, dst)
    src_kind = _source_kind(src)
    if src_kind == "hdf5" and dst_kind == "hdf5":
        raise click.ClickException(
            f"{src} and {dst} are both HDF5; give DST a Zarr name (e.g. ending .nwb.zarr)")
    if dst.exists() or dst.is_symlink():
        if not overwrite:
            raise click.ClickException(f"{dst} exists; pass --overwrite to replace it")
        _check_replaceable(dst)

    # the conversion is written to a hidden sibling and takes DST's name only when complete:
    # a failed or interrupted conversion leaves an existing DST as it was
    staged = _staging_path(dst)
    with tqdm(total=3, unit="stage", file=sys.stderr, leave=True, desc="open",
              bar_format="{desc:<8}{bar:20}| {n_fmt}/{total_fmt} [{elapsed}]",
              disable=not progress) as bar:
        try:
            dst_store = _new_store(staged, store_kind, consolidate_depth)
            _export(src, src_kind, staged, dst_kind, fmt, bar, zarr_args, dst_store)
            _install(staged, dst)
        except Exception as exc:
            _discard_partial(staged)
            raise click.ClickException(
                f"converting {src} to {dst} failed: {type(exc).__name__}: {exc}") from exc
        except BaseException:  # Ctrl-C: no partial output is left behind
            _discard_partial(staged)
            raise
        bar.set_description_str("done")
        layout, nodes, stored = _summary(dst, dst_kind)
        bar.update(1)
    seconds = time.perf_counter() - started
    click.echo(f"{dst}: layout {layout}, {nodes} nodes, {_size(stored)} stored, "
               f"{seconds:.2f} s")


def _size(nbytes: int) -> str:
    """``"45613 bytes (44.5 KiB)"``: exact, and readable."""
    from .inspect import _human

    return f"{nbytes} bytes" if nbytes < 1024 else f"{nbytes} bytes ({_human(nbytes)})"


def _check_store_kind(dst: Path, dst_kind: str, store_kind: str | None) -> None:
    if store_kind is None:
        return
    if dst_kind == "hdf5":
        raise click.UsageError("--store applies to a Zarr destination only")
    if store_kind == "zip" and dst.suffix.lower() != ".zip":
        raise click.UsageError(f"--store zip: DST must end in .zip, not {dst.name!r}")
    if store_kind != "zip" and dst.suffix.lower() == ".zip":
        raise click.UsageError(f"--store {store_kind}: DST ends in .zip; use --store zip")


def _new_store(dst: Path, store_kind: str | None, consolidate_depth: int):
    """The destination store instance for ``--store h5``/``sqlite`` (None: ``NWBZarrIO``
    opens DST by its name)."""
    if store_kind in ("h5", "sqlite"):
        from .storage import H5NestedStore, SQLiteStore

        if store_kind == "h5":
            return H5NestedStore(str(dst), consolidate_depth=consolidate_depth)
        return SQLiteStore(str(dst))
    return None


# --- pack / unpack --------------------------------------------------------------------------

def _key_bar(desc: str):
    bar = tqdm(unit="B", unit_scale=True, file=sys.stderr, desc=desc, leave=True)
    return bar, (lambda _key, nbytes: bar.update(nbytes))


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.argument("dst", type=click.Path(path_type=str), required=False)
@click.option("--store", "store_kind", type=click.Choice(["h5", "zip", "sqlite"]), default="h5",
              show_default=True,
              help="h5: H5NestedStore (chunks in HDF5 containers); zip: one .zip file; sqlite: "
                   "one SQLite file.")
@click.option("--consolidate-depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="--store h5: leading chunk indices that pick a container.")
def pack(src: str, dst: str | None, store_kind: str, consolidate_depth: int) -> None:
    """Pack the directory store SRC into a container store: into DST, or (--store h5 without
    DST) in place, moving loose chunk files into HDF5 containers one container at a time."""
    from .errors import HdmfZarrError
    from .storage import pack as pack_store

    if dst is None and store_kind != "h5":
        raise click.UsageError(f"--store {store_kind} needs DST")
    bar, on_key = _key_bar("pack")
    try:
        result = pack_store(src, store_kind, dst, consolidate_depth=consolidate_depth,
                            on_key=on_key)
    except (HdmfZarrError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        bar.close()
    if dst is None:
        click.echo(f"{result['target']}: {result['chunks']} chunks moved into "
                   f"{result['containers']} containers")
    else:
        click.echo(f"{result['target']}: {result['keys']} keys, {_size(result['bytes'])}")


@main.command()
@click.argument("src", type=click.Path(exists=True, path_type=str))
@click.argument("dst", type=click.Path(path_type=str))
def unpack(src: str, dst: str) -> None:
    """Copy the store SRC (zip, SQLite, or a directory of H5NestedStore/ZipNestedStore
    containers) into DST, a new plain directory store."""
    from .errors import HdmfZarrError
    from .storage import unpack as unpack_store

    bar, on_key = _key_bar("unpack")
    try:
        result = unpack_store(src, dst, on_key=on_key)
    except HdmfZarrError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        bar.close()
    click.echo(f"{result['target']}: {result['keys']} keys, {_size(result['bytes'])}")


# --- info -----------------------------------------------------------------------------------

@main.command()
@click.argument("path", type=click.Path(path_type=str))
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="Show nodes down to this depth only (0: the root).")
@click.option("--no-consolidated", is_flag=True,
              help="Ignore consolidated metadata and list the store.")
def info(path: str, depth: int | None, no_consolidated: bool) -> None:
    """Print the groups and arrays of the Zarr store at PATH with their sizes."""
    from .errors import HdmfZarrError
    from .inspect import format_tree, walk_store

    if _is_hdf5(Path(path)):
        raise click.ClickException(f"{path}: an HDF5 file, not a Zarr store")
    from .storage._atomic import read_write_marker

    store = _open_read_store(path)
    try:
        marker = read_write_marker(store)
        nodes = walk_store(store, use_consolidated=not no_consolidated)
    except HdmfZarrError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        _close(store)
    click.echo(format_tree(nodes, max_depth=depth))
    if marker is not None:  # docs/format-notes.md "Write-in-progress marker"
        started = marker.get("started")
        click.echo(f"INCOMPLETE: a write{' started ' + started if isinstance(started, str) else ''}"
                   " is in progress or was interrupted (write-in-progress marker present); "
                   "what is listed may be partial")


# --- validate -------------------------------------------------------------------------------

@main.command()
@click.argument("path", type=click.Path(path_type=str))
def validate(path: str) -> None:
    """Validate the NWB file at PATH against the specifications cached in it."""
    import pynwb

    try:
        if _is_hdf5(Path(path)):
            with pynwb.NWBHDF5IO(path, "r") as io:
                result = pynwb.validate(io=io)
        else:
            from .nwb import NWBZarrIO

            with NWBZarrIO(path, "r") as io:
                result = pynwb.validate(io=io)
    except Exception as exc:
        raise click.ClickException(
            f"{path}: cannot be validated: {type(exc).__name__}: {exc}") from exc
    # pynwb 4 returns the list of errors; some releases returned (errors, status)
    errors = result[0] if isinstance(result, tuple) else result
    errors = list(errors or [])
    for error in errors:
        click.echo(str(error))
    count = len(errors)
    click.echo(f"{count} error{'' if count == 1 else 's'}")
    if count:
        click.get_current_context().exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
