"""Load the peers' fetched test modules and make one test class per layout from each.

pynwb: every module of ``tests/integration/hdf5`` (all of them are round trips through
``NWBHDF5IO``/``HDF5IO``). hdmf: the classes of ``tests/unit/common`` that do a round trip, i.e.
that use ``HDF5IO`` (directly or through ``H5RoundTripMixin``); the other classes there test
in-memory containers and involve no IO.

A suite's ``tests`` package is imported under the name ``_peer_<name>_tests``; hdmf's modules
import their helpers as ``tests.unit...``, so ``tests`` is an alias of that package while they
load. Each test class ``C`` of module ``test_m.py`` becomes ``test_m__C__L2`` and
``test_m__C__L3``: subclasses that only record the layout (``_peer_layout``) and the upstream
test id (``_peer_id``, ``"test_m.py::C"``) that the known differences name.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
import unittest
from dataclasses import dataclass, field
from pathlib import Path

from ._fetch import fetch_tests

__all__ = ["Suite", "SUITES", "load_suite", "layout_classes"]

LAYOUTS = (2, 3)


@dataclass(frozen=True)
class Suite:
    """A peer suite: distribution, directory of test modules, and which classes it runs."""

    name: str
    subdir: str
    round_trips_only: bool
    modules: list = field(default_factory=list, compare=False)


SUITES = {
    "pynwb": Suite("pynwb", "integration/hdf5", round_trips_only=False),
    "hdmf": Suite("hdmf", "unit/common", round_trips_only=True),
}

_IO_NAMES = ("HDF5IO", "H5RoundTripMixin")  # NWBHDF5IO contains HDF5IO
_loaded: dict[str, list] = {}


def _import_package(name: str, directory: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_suite(name: str) -> list[types.ModuleType]:
    """Fetch (if needed) and import the test modules of suite ``name``, sorted by file name."""
    if name in _loaded:
        return _loaded[name]
    suite = SUITES[name]
    root = fetch_tests(name)
    alias = f"_peer_{name}_tests"
    package = _import_package(alias, root / "tests")
    directory = root / "tests" / suite.subdir
    saved = sys.modules.get("tests")
    sys.modules["tests"] = package
    try:
        modules = [importlib.import_module(f"{alias}.{suite.subdir.replace('/', '.')}.{p.stem}")
                   for p in sorted(directory.glob("test_*.py"))]
    finally:
        if saved is None:
            sys.modules.pop("tests", None)
        else:
            sys.modules["tests"] = saved
    if not modules:
        raise RuntimeError(f"{directory} holds no test modules")
    _loaded[name] = modules
    return modules


def _mentions_io(obj) -> bool:
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return any(n in source for n in _IO_NAMES)


def _round_trip_methods(cls: type) -> list[str]:
    """The test methods of ``cls`` that go through an IO: all of them for a class whose
    ``setUp``/``setUpClass`` or mixin does, else those whose own code names the IO."""
    names = unittest.defaultTestLoader.getTestCaseNames(cls)
    if any(k.__name__ == "H5RoundTripMixin" for k in cls.__mro__):
        return list(names)
    if any(_mentions_io(getattr(cls, hook)) for hook in ("setUp", "setUpClass")
           if getattr(cls, hook).__module__ == cls.__module__):
        return list(names)
    helpers = [n for n, v in vars(cls).items()
               if not n.startswith("test") and inspect.isfunction(v) and _mentions_io(v)]

    def uses_io(method) -> bool:
        if _mentions_io(method):
            return True
        source = inspect.getsource(method)
        return any(f"self.{h}(" in source for h in helpers)

    return [n for n in names if uses_io(getattr(cls, n))]


def test_classes(name: str) -> dict[str, tuple[type, list[str]]]:
    """``"test_m.py::C"`` -> (class, names of the test methods we run) for suite ``name``."""
    suite = SUITES[name]
    found = {}
    for module in load_suite(name):
        stem = module.__name__.rsplit(".", 1)[1]
        for attr, obj in vars(module).items():
            if not (inspect.isclass(obj) and issubclass(obj, unittest.TestCase)
                    and obj.__module__ == module.__name__ and getattr(obj, "__test__", True)
                    and not inspect.isabstract(obj)):
                continue
            names = unittest.defaultTestLoader.getTestCaseNames(obj)
            if suite.round_trips_only:
                names = _round_trip_methods(obj)
            if names:
                found[f"{stem}.py::{attr}"] = (obj, list(names))
    return found


def layout_classes(name: str) -> dict[str, type]:
    """Module globals for a pytest module: ``test_m__C__L2``/``__L3`` -> layout subclass.

    Test methods of the class that we do not run (hdmf's tests without IO) are set to None in
    the subclass, which unittest and pytest do not collect.
    """
    out = {}
    for peer_id, (cls, names) in test_classes(name).items():
        stem, attr = peer_id.split(".py::")
        dropped = {n: None for n in unittest.defaultTestLoader.getTestCaseNames(cls)
                   if n not in names}
        for layout in LAYOUTS:
            sub_name = f"{stem}__{attr}__L{layout}"
            body = dict(dropped, _peer_layout=layout, _peer_suite=name, _peer_id=peer_id,
                        __module__=cls.__module__, __qualname__=cls.__qualname__)
            out[sub_name] = types.new_class(sub_name, (cls,),
                                            exec_body=lambda ns, b=body: ns.update(b))
    return out
