"""The known-differences file names only peer tests that run, and a failed fetch is an error."""

import io
import tarfile

import pytest

from ._fetch import PeerFetchError, _download, _extract_tests
from ._known import load_known_differences
from ._suites import test_classes as peer_test_classes


def test_every_entry_names_a_peer_test_we_run():
    known = load_known_differences()
    assert known
    for (suite, test, _layout), diff in known.items():
        class_id, method = test.rsplit("::", 1)
        classes = peer_test_classes(suite)
        assert class_id in classes, f"{suite} {test}: no such test class runs"
        assert method in classes[class_id][1], f"{suite} {test}: no such test method runs"
        assert diff.reason and diff.match


def test_failed_download_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PeerFetchError, match="could not fetch the source distribution"):
        _download("pynwb", "0.0.0", tmp_path / "dest")


def test_archive_without_tests_raises(tmp_path):
    archive = tmp_path / "x-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"print('hi')\n"
        info = tarfile.TarInfo("x-1.0/setup.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(PeerFetchError, match="holds no tests/ directory"):
        _extract_tests(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
