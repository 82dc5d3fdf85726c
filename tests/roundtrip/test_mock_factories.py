"""Catalogue 1: every ``pynwb.testing.mock`` factory in one NWB file, written and read back."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

from pynwb import NWBFile

from ._compare import assert_container_equal


def mock_factories() -> dict:
    """Every public ``mock_*`` function defined in a module of ``pynwb.testing.mock``."""
    import pynwb.testing.mock as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("mock_") and func.__module__ == module.__name__:
                found[name] = func
    return found


# Factories that cannot go into the main file, and why. They are tested in a second file.
SECOND_FILE = {
    # deprecated alias of mock_ElectrodesTable: a file holds one electrodes table, and the main
    # file already has the one mock_ElectrodesTable made
    "mock_ElectrodeTable",
}


def _electrode_region(factories, nwbfile):
    """A region over the main file's electrodes table, made by the ``mock_electrodes`` factory."""
    return factories["mock_electrodes"](n_electrodes=len(nwbfile.electrodes),
                                        table=nwbfile.electrodes,
                                        nwbfile=nwbfile)


# Arguments that make a factory reuse what the file already holds instead of creating a second
# electrodes table (a file has one) or leaving its result outside the file.
EXTRA_KWARGS = {
    "mock_ElectricalSeries": lambda f, nwb: {"electrodes": _electrode_region(f, nwb)},
    "mock_SpikeEventSeries": lambda f, nwb: {"electrodes": _electrode_region(f, nwb)},
}

# pynwb writes ImageSeries.starting_frame only together with external_file; the ophys factories
# set starting_frame=[0] without an external file, so it is (correctly) absent after a read.
MAPPER_ASYMMETRIES = {("ImageSeries", "starting_frame")}

# Factories that must run first because later ones depend on what they add.
FIRST = ("mock_Subject", "mock_DeviceModel", "mock_Device", "mock_ElectrodeGroup",
         "mock_ElectrodesTable")


def _belongs_to(obj, nwbfile) -> bool:
    seen = set()
    while obj is not None and id(obj) not in seen:
        if obj is nwbfile:
            return True
        seen.add(id(obj))
        obj = obj.parent
    return False


def build_main_file(factories: dict):
    """The NWB file holding the result of every factory; returns (nwbfile, {factory: result})."""
    nwbfile = factories["mock_NWBFile"](session_description="every pynwb mock factory",
                                        identifier="mock-catalogue")
    results = {"mock_NWBFile": nwbfile}
    order = [n for n in FIRST if n in factories]
    order += sorted(n for n in factories if n not in order and n not in SECOND_FILE
                    and n not in ("mock_NWBFile", "mock_electrodes"))
    for name in order:
        extra = EXTRA_KWARGS.get(name, lambda f, nwb: {})(factories, nwbfile)
        results[name] = factories[name](nwbfile=nwbfile, **extra)
    # mock_electrodes makes a DynamicTableRegion, which lives in a series: the one given to
    # mock_ElectricalSeries above
    if "mock_electrodes" in factories:
        series = results.get("mock_ElectricalSeries")
        assert series is not None, "mock_electrodes needs mock_ElectricalSeries to hold its region"
        results["mock_electrodes"] = series.electrodes
    return nwbfile, results


def test_enumeration_finds_the_factories():
    factories = mock_factories()
    # a few well-known ones, to make sure the enumeration itself works
    for name in ("mock_NWBFile", "mock_TimeSeries", "mock_ElectricalSeries", "mock_Units",
                 "mock_PlaneSegmentation", "mock_IntracellularRecordingsTable", "mock_Device"):
        assert name in factories
    for name, func in factories.items():
        if name != "mock_NWBFile":
            assert "nwbfile" in inspect.signature(func).parameters, name


def test_every_mock_factory_in_one_file(roundtrip):
    factories = mock_factories()
    nwbfile, results = build_main_file(factories)

    assert set(results) | SECOND_FILE == set(factories)
    for name, obj in results.items():
        assert obj is not None, name
        assert _belongs_to(obj, nwbfile), f"{name}() made {obj!r}, which is not part of the file"

    read = roundtrip(nwbfile)
    assert_container_equal(nwbfile, read, ignore_fields=MAPPER_ASYMMETRIES)


def test_mock_factories_for_a_second_file(roundtrip):
    """Factories that cannot share the main file (see SECOND_FILE) get a file each."""
    factories = mock_factories()
    for name in sorted(SECOND_FILE & set(factories)):
        nwbfile = factories["mock_NWBFile"](identifier=f"second-{name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            obj = factories[name](nwbfile=nwbfile)
        assert _belongs_to(obj, nwbfile), name
        read = roundtrip(nwbfile, stem=name)
        assert isinstance(read, NWBFile)
        assert_container_equal(nwbfile, read)
