"""The known differences: peer tests that fail through our IO for a stated reason.

``known_differences.toml`` holds ``[[difference]]`` tables with

- ``suite``: ``"pynwb"`` or ``"hdmf"``;
- ``test``: the upstream test id, ``"test_module.py::Class::method"``;
- ``layouts``: ``["L2", "L3"]`` or one of them;
- ``reason``: why the test cannot pass through a Zarr IO (a feature only HDF5 has...);
- ``match``: text the failure report must contain, so that a listed test failing for another
  reason is still a failure.

A listed test that fails with ``match`` is reported as xfailed with the reason; one that passes
fails with "remove it from the known differences"; one that fails otherwise fails.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KNOWN_DIFFERENCES_FILE", "Difference", "load_known_differences"]

KNOWN_DIFFERENCES_FILE = Path(__file__).resolve().parent / "known_differences.toml"
_KEYS = {"suite", "test", "layouts", "reason", "match"}


@dataclass(frozen=True)
class Difference:
    suite: str
    test: str
    layout: int
    reason: str
    match: str


def load_known_differences(path: Path = KNOWN_DIFFERENCES_FILE) -> dict:
    """``(suite, "module.py::Class::method", layout)`` -> :class:`Difference`.

    Raises
    ------
    ValueError
        For an entry with missing or unknown keys, an unknown layout, or listed twice.
    """
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    unknown_top = set(doc) - {"difference"}
    if unknown_top:
        raise ValueError(f"{path.name}: unknown top-level keys {sorted(unknown_top)}")
    out = {}
    for i, entry in enumerate(doc.get("difference", [])):
        where = f"{path.name}: difference #{i + 1} ({entry.get('test')!r})"
        if set(entry) != _KEYS:
            raise ValueError(f"{where}: keys must be {sorted(_KEYS)}, not {sorted(entry)}")
        if entry["test"].count("::") != 2:
            raise ValueError(f"{where}: test must read 'module.py::Class::method'")
        if not entry["reason"].strip() or not entry["match"].strip():
            raise ValueError(f"{where}: reason and match must not be empty")
        if not entry["layouts"] or not set(entry["layouts"]) <= {"L2", "L3"}:
            raise ValueError(f"{where}: layouts must be a non-empty subset of ['L2', 'L3']")
        for lay in entry["layouts"]:
            key = (entry["suite"], entry["test"], int(lay[1]))
            if key in out:
                raise ValueError(f"{where}: listed twice for {lay}")
            out[key] = Difference(entry["suite"], entry["test"], int(lay[1]),
                                  entry["reason"].strip(), entry["match"])
    return out
