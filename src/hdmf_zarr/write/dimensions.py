"""Dimension names of written datasets: ``_ARRAY_DIMENSIONS`` (both layouts) and Zarr 3
``dimension_names`` (L3), FORMAT.md 2.1 and 3.7.

xarray (``open_zarr``, ``open_datatree``) reads a dimension name as one dimension of the whole
group: every array of the group that uses the name must have the same length along it, else
the group does not open ("conflicting sizes for dimension 'dim0'"). The labels hdmf gives a
dataset come from its spec, and the specs' unnamed dimensions are placeholders (``dim0``,
``dim1`` of ``VectorData``) shared by columns of different lengths, e.g. the data of a ragged
``spike_times`` column beside the ``quality`` column of the same ``Units`` table. So:

* a placeholder label (``dim<i>`` or ``dim_<i>``) is written as ``<dataset name>_dim_<i>``,
  unique to the dataset; so is every axis of a dataset whose spec names no dimensions (xarray
  opens no Zarr 3 array without ``dimension_names``);
* a named label (``num_times``) is kept, unless an array written before in the same group
  has it with another length, or the dataset uses it on two axes: it is then written as
  ``<dataset name>_<label>`` (``<dataset name>_<label>_<axis>`` for the repeated axes).

These are plain strings to any reader: hdmf-zarr 0.14 keeps ``_ARRAY_DIMENSIONS`` among the
attributes, 0.13 likewise, and this package's reader gives them as the builder's
``dimension_labels``.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["DimensionNamer", "is_placeholder"]

_PLACEHOLDER = re.compile(r"dim_?(\d+)")


def is_placeholder(label: str) -> bool:
    """True for the specs' names of unnamed dimensions: ``dim0``, ``dim1``, ``dim_2``."""
    return _PLACEHOLDER.fullmatch(label) is not None


class DimensionNamer:
    """Chooses the stored dimension names of the datasets of one write, keeping every group
    consistent for xarray (see the module docstring)."""

    def __init__(self) -> None:
        #: group path -> {dimension name -> length} of the arrays named so far
        self._groups: dict[str, dict[str, int]] = {}

    def names(self, path: str, labels: tuple[str, ...], shape: tuple[int, ...], *,
              growing: bool = False) -> tuple[str, ...]:
        """The names to store for the dataset at ``path``.

        Parameters
        ----------
        path : str
            Absolute path of the dataset (``/units/spike_times``); its parent is the group
            whose names must agree.
        labels : tuple of str
            The builder's dimension labels, one per axis of ``shape``.
        shape : tuple of int
            Shape of the array as created.
        growing : bool
            The first axis grows while the data is written (its final length is unknown): that
            axis does not claim a length in the group.

        Returns
        -------
        tuple of str
            One name per axis.
        """
        group, _, name = path.rstrip("/").rpartition("/")
        sizes = self._groups.setdefault(group, {})
        repeated = {label for label, n in Counter(labels).items() if n > 1}
        out = []
        for axis, (label, size) in enumerate(zip(labels, shape)):
            match = _PLACEHOLDER.fullmatch(label)
            if match is not None:
                chosen = f"{name}_dim_{match.group(1)}"
            elif label in repeated:
                chosen = f"{name}_{label}_{axis}"
            elif label in sizes and sizes[label] != size and not (growing and axis == 0):
                chosen = f"{name}_{label}"
            else:
                chosen = label
            out.append(chosen)
            if not (growing and axis == 0):
                sizes.setdefault(chosen, int(size))
        return tuple(out)
