"""The documented error for a failure while hdmf constructs containers from the builders of a
store (``ZarrIO.read``, and the containers of reference targets)."""

from __future__ import annotations

from typing import Any

from ..errors import HdmfZarrError

__all__ = ["construct_failure"]


def construct_failure(exc: BaseException) -> HdmfZarrError:
    """The documented error to raise for an exception hdmf raised while constructing
    containers from the builders of a store.

    When a documented error of this package (a corrupt chunk, a broken reference...) caused
    it, that error is returned unchanged, so that it keeps its class; otherwise a
    :class:`~hdmf_zarr.errors.ContainerConstructionError` naming the builder's path, with
    ``exc`` as its cause.

    Parameters
    ----------
    exc : BaseException
        What ``BuildManager.construct`` raised (usually ``hdmf.build.errors.ConstructError``).

    Returns
    -------
    HdmfZarrError
    """
    from ..errors import ContainerConstructionError

    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, HdmfZarrError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    builder: Any = exc.args[0] if exc.args else None
    path = None
    if builder is not None and hasattr(builder, "path") and hasattr(builder, "name"):
        parts = str(builder.path).split("/")
        path = "/" + "/".join(parts[1:]) if len(parts) > 1 else "/"
        reason = exc.args[1] if len(exc.args) > 1 else str(exc)
        what = f"the container of this {type(builder).__name__}"
    else:
        import re

        reason = f"{type(exc).__name__}: {exc}"
        what = "the containers of this file"
        found = re.search(r"builder root(/[^\s'\"]*)?", str(exc))
        if found:  # hdmf names the builder in the text ("No data_type found for builder ...")
            path = found.group(1) or "/"
            what = "the container of this builder"
    err = ContainerConstructionError(f"cannot construct {what}: {reason}", path or "/")
    err.__cause__ = exc
    return err
