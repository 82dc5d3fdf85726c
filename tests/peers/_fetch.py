"""Fetch the test suites of the installed pynwb and hdmf from their source distributions.

The suites are downloaded at test time with pip (``pip download --no-deps --no-binary :all:
<name>==<installed version>``), never committed. Only the ``tests/`` directory of the archive is
extracted, with tarfile's ``data`` filter (no absolute paths, no links leaving the directory), into
a cache directory: ``$HDMF_ZARR_PEERS_CACHE`` or ``tests/peers/.cache`` (ignored by git through a
``.gitignore`` written into it). Every failure raises :class:`PeerFetchError`: the peer tests
never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version as installed_version
from pathlib import Path

__all__ = ["PeerFetchError", "cache_dir", "fetch_tests"]

_HERE = Path(__file__).resolve().parent
_PIP_TIMEOUT_S = 900


class PeerFetchError(RuntimeError):
    """The source distribution of a peer could not be downloaded or unpacked."""


def cache_dir() -> Path:
    """The directory holding the unpacked suites (created, with a ``.gitignore`` of ``*``)."""
    root = Path(os.environ.get("HDMF_ZARR_PEERS_CACHE") or _HERE / ".cache").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# fetched peer test suites: never committed\n*\n")
    return root


def fetch_tests(distribution: str) -> Path:
    """Return the unpacked source tree (holding ``tests/``) of the installed ``distribution``.

    Parameters
    ----------
    distribution : str
        ``"pynwb"`` or ``"hdmf"``: its installed version is the one fetched.

    Returns
    -------
    pathlib.Path
        ``<cache>/<distribution>-<version>``, which contains the archive's ``tests`` directory.

    Raises
    ------
    PeerFetchError
        When pip fails, the archive holds no ``tests/`` directory or cannot be unpacked.
    """
    ver = installed_version(distribution)
    root = cache_dir()
    target = root / f"{distribution}-{ver}"
    if (target / "tests" / "__init__.py").is_file():
        return target
    with tempfile.TemporaryDirectory(dir=root, prefix=f".fetch-{distribution}-") as tmp:
        tmp_path = Path(tmp)
        archive = _download(distribution, ver, tmp_path / "sdist")
        unpacked = tmp_path / "unpacked"
        _extract_tests(archive, unpacked)
        try:
            os.rename(unpacked, target)  # atomic: a concurrent run may have won the race
        except OSError:
            if not (target / "tests" / "__init__.py").is_file():
                raise PeerFetchError(f"could not move the unpacked suite of {distribution} "
                                     f"{ver} to {target}") from None
    return target


def _download(distribution: str, ver: str, dest: Path) -> Path:
    dest.mkdir()
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
           "--no-binary", ":all:", f"{distribution}=={ver}", "--dest", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerFetchError(f"{' '.join(cmd)} failed: {exc}") from exc
    archives = sorted(dest.glob(f"{distribution}-*.tar.gz"))
    if proc.returncode != 0 or len(archives) != 1:
        raise PeerFetchError(
            f"could not fetch the source distribution of {distribution}=={ver} "
            f"(exit {proc.returncode}, archives {[a.name for a in archives]}):\n"
            f"$ {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return archives[0]


def _extract_tests(archive: Path, dest: Path) -> None:
    """Extract ``<top>/tests/**`` of ``archive`` into ``dest/tests``."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = []
            for member in tar.getmembers():
                parts = member.name.split("/")
                if len(parts) >= 2 and parts[1] == "tests":
                    member.name = "/".join(parts[1:])
                    members.append(member)
            if not members:
                raise PeerFetchError(f"{archive.name} holds no tests/ directory")
            dest.mkdir()
            tar.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise PeerFetchError(f"could not unpack {archive.name}: {exc}") from exc
    if not (dest / "tests" / "__init__.py").is_file():
        raise PeerFetchError(f"{archive.name}: tests/ is not a package")
