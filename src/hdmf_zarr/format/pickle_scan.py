"""Opcode prescan of pickled chunks, run before the restricted unpickler (FORMAT.md 2.5, 5).

The scan steps over every opcode without running it (the way the unpickler reads them) and
refuses, before any object is built:

- the opcodes the restricted decoder never accepts (persistent ids, the extension registry,
  whose cache could bypass ``find_class``, and the old instantiation opcodes);
- unknown opcodes and truncated streams;
- memo writes (``PUT``, ``BINPUT``, ``LONG_BINPUT``) to an index beyond the number of opcodes
  read so far: the C unpickler grows its memo table to the index, so one 6-byte opcode could
  make it allocate gigabytes. Python's pickler numbers memo entries from 0 in order;
- streams of more opcodes than the caller's budget (derived from the chunk's element count), so
  that the scan and the unpickler do work bounded by what the metadata implies.
"""

from __future__ import annotations

import pickle
import pickletools

__all__ = ["ScanRefused", "ScanMalformed", "prescan"]


class ScanRefused(Exception):
    """The stream uses an opcode the restricted decoder never accepts."""


class ScanMalformed(Exception):
    """The stream is invalid or beyond the budget."""


_FORBIDDEN_OPCODES = {
    "PERSID": "persistent id",
    "BINPERSID": "persistent id",
    "EXT1": "extension registry code",
    "EXT2": "extension registry code",
    "EXT4": "extension registry code",
    "INST": "INST instantiation",
    "OBJ": "OBJ instantiation",
    "NEWOBJ_EX": "NEWOBJ_EX instantiation",
}

# How to step over each opcode's argument, from pickletools' own opcode table:
# kind 0 = fixed size, 1 = up to a newline, 2 = two newline-terminated lines,
# 3 = little-endian length of ``size`` bytes then that many bytes (4: signed length).
_FIXED, _LINE, _PAIR, _ULEN, _SLEN = range(5)
# opcodes whose argument is a memo index written to
_PUTS: dict[int, str | int] = {
    ord(pickle.PUT): "line", ord(pickle.BINPUT): 1, ord(pickle.LONG_BINPUT): 4}


def _opcode_table() -> dict[int, tuple[str, int, int]]:
    table = {}
    for op in pickletools.opcodes:
        arg = op.arg
        if arg is None:
            entry = (op.name, _FIXED, 0)
        elif arg.name == "stringnl_noescape_pair":
            entry = (op.name, _PAIR, 0)
        elif arg.n == pickletools.UP_TO_NEWLINE:
            entry = (op.name, _LINE, 0)
        elif arg.n >= 0:
            entry = (op.name, _FIXED, arg.n)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT1:
            entry = (op.name, _ULEN, 1)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT4:
            entry = (op.name, _SLEN, 4)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT4U:
            entry = (op.name, _ULEN, 4)
        elif arg.n == pickletools.TAKEN_FROM_ARGUMENT8U:
            entry = (op.name, _ULEN, 8)
        else:  # pragma: no cover - a future opcode kind: refuse streams using it
            continue
        table[op.code.encode("latin-1")[0]] = entry
    return table


_OPCODES = _opcode_table()
_STOP = ord(pickle.STOP)


def _memo_index(code: int, data: bytes, start: int, stop: int) -> int:
    kind = _PUTS[code]
    if kind == "line":
        text = data[start:stop].strip()
        if not text.isdigit() or len(text) > 12:
            raise ScanMalformed("PUT opcode with a bad memo index")
        return int(text)
    assert isinstance(kind, int)
    return int.from_bytes(data[start:start + kind], "little")


def prescan(data: bytes, max_opcodes: int | None = None) -> int:
    """Check a pickle stream's opcodes without running it.

    Parameters
    ----------
    data : bytes
        The stream.
    max_opcodes : int, optional
        Largest number of opcodes accepted (None: as many as the stream holds).

    Returns
    -------
    int
        Number of opcodes up to and including ``STOP``.

    Raises
    ------
    ScanRefused
        For a forbidden opcode (the message names it).
    ScanMalformed
        For an unknown opcode, a truncated stream, a memo index out of order, or more opcodes
        than ``max_opcodes``.
    """
    end = len(data)
    pos = 0
    ops = 0
    limit = end if max_opcodes is None else max_opcodes
    table, find = _OPCODES, data.find
    while pos < end:
        if ops >= limit:
            raise ScanMalformed(f"pickle stream has more than {limit} opcodes, more than its "
                                "chunk's element count can need")
        ops += 1
        code = data[pos]
        pos += 1
        entry = table.get(code)
        if entry is None:
            raise ScanMalformed(f"invalid pickle opcode {code:#04x} at byte {pos - 1}")
        name, kind, size = entry
        if name in _FORBIDDEN_OPCODES:
            raise ScanRefused(f"pickled chunk uses a {_FORBIDDEN_OPCODES[name]} "
                              f"(opcode {name})")
        start = pos
        if kind == _FIXED:
            pos += size
        elif kind in (_LINE, _PAIR):
            for _ in range(1 if kind == _LINE else 2):
                newline = find(b"\n", pos)
                if newline < 0:
                    raise ScanMalformed(f"pickle opcode {name} without its line argument")
                pos = newline + 1
        else:
            length = int.from_bytes(data[pos:pos + size], "little", signed=kind == _SLEN)
            if length < 0:
                raise ScanMalformed("negative length in pickle stream")
            pos += size + length
        if pos > end:
            break
        if code in _PUTS and _memo_index(code, data, start, pos) > ops:
            raise ScanMalformed(f"pickle memo index out of order at byte {start - 1}")
        if code == _STOP:
            return ops
    raise ScanMalformed("pickle stream truncated (no STOP opcode)")
