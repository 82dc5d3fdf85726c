"""Progress bars of long writes (iterators, parallel writes, dask stores, block copies;
docs/large-data.md "Progress")."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


class _NoBar:
    """Stands in for a tqdm bar when progress is off."""

    total = None

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass


def progress_bar(enabled: bool, *, desc: str, total: int | None = None,
                 unit: str = "block") -> Any:
    """A tqdm progress bar on stderr, or an object with the same ``update``/``close`` methods
    that shows nothing.

    Parameters
    ----------
    enabled : bool
        Show a bar.
    desc : str
        Label (the dataset path).
    total : int, optional
        Number of steps, when known.
    unit : str
        Name of a step.
    """
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.5)
