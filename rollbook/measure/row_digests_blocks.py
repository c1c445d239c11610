"""Row digests' blocks as PostgreSQL hands them over and as the sidecar keeps them (format 2).

A block of a key of integers comes as one bytea: per row its key's columns and its hash, 8 bytes
each, big-endian, so that PostgreSQL prints no text. It is kept as each key column's values
XORed with the one before (keys in order differ in their low bits: mostly zero bytes, which
compress), compressed, then the hashes as they are (random bytes do not compress). A block of a
row-text key comes as its keys' lines (escaped) and its hashes' bytes; it is kept as the lines
compressed, then the hashes. Format 1 (each block one compressed text of lines "key TAB hash")
is still read.
"""
from __future__ import annotations

import operator
import sys
import zlib
from array import array
from itertools import accumulate
from typing import Any

from rollbook.measure.row_digests_keys import KeyForm

LEVEL = 1  # zlib level of the keys


def _numbers(data: bytes) -> array:
    """Big-endian 8-byte integers as an array (8 bytes each in memory, not Python objects)."""
    numbers = array("q")
    numbers.frombytes(data)
    if sys.byteorder == "little":
        numbers.byteswap()
    return numbers


def _bytes(numbers: array) -> bytes:
    swapped = array("q", numbers)
    if sys.byteorder == "little":
        swapped.byteswap()
    return swapped.tobytes()


class Received:
    """One block as PostgreSQL handed it over: `rows` rows, their keys' `text` (a row-text key)
    or `blob` (per row, key columns and hash), their hashes."""

    def __init__(self, form: KeyForm, rows: int, text: str | None, blob: bytes) -> None:
        self.form, self.rows, self.text = form, rows, text
        if form.numeric:
            width = len(form.columns) + 1
            values = _numbers(blob)
            self.columns = [values[i::width] for i in range(width - 1)]
            self.hashes = values[width - 1::width]
        else:
            self.columns, self.blob = [], blob
            self.hashes = _numbers(blob)

    def key(self, row: int) -> Any:
        """The key of one row (0, or -1 for the last)."""
        if self.form.form == "integer":
            return self.columns[0][row]
        if self.form.numeric:
            return tuple(c[row] for c in self.columns)
        text = self.text or ""
        return self.form.parse(text[:text.find("\n")] if row == 0 and self.rows > 1
                               else text[text.rfind("\n") + 1:] if row == -1 else text)

    def keys(self) -> list[Any]:
        return _keys(self.form, self.columns, self.text)

    def packed(self) -> bytes:
        """The block as the sidecar keeps it."""
        if not self.form.numeric:
            return zlib.compress((self.text or "").encode(), LEVEL) + self.blob
        xored = b"".join(_bytes(array("q", [c[0]]) + array("q", map(operator.xor, c[1:], c[:-1])))
                         for c in self.columns)
        return zlib.compress(xored, LEVEL) + _bytes(self.hashes)


def _keys(form: KeyForm, columns: list, text: str | None) -> list[Any]:
    if not form.numeric:
        return [form.parse(line) for line in (text or "").split("\n")]
    if form.form == "integer":
        return list(columns[0])
    return list(zip(*columns, strict=True))


def kept(form: KeyForm, version: int, packed: bytes) -> tuple[list[Any], Any]:
    """One block of the sidecar as (its keys, their hashes)."""
    if version == 1:
        pairs = [line.partition("\t") for line in zlib.decompress(packed).decode().split("\n")]
        return [form.parse(p[0]) for p in pairs], tuple(int(p[2]) for p in pairs)
    unpacked = zlib.decompressobj()
    head = unpacked.decompress(packed)
    rows = len(unpacked.unused_data) // 8
    hashes = _numbers(unpacked.unused_data)
    if not form.numeric:
        return _keys(form, [], head.decode()), hashes
    values = _numbers(head)
    columns = [tuple(accumulate(values[i * rows:(i + 1) * rows], operator.xor))
               for i in range(len(form.columns))]
    return _keys(form, columns, None), hashes
