"""Writing zone values into fixed-width characters: the other direction of the geometry.

Input: a zone (kind, length) and a structured value (int, str, ISO date).
Output: exactly ``zone.length`` ASCII bytes: N right-aligned zero-filled, A left-aligned
blank-filled printable text, S sign + digits, D ``YYYYMMDD``. ``raw`` text is placed as given
(aligned and padded like the zone, one byte per character) so that files can hold the
characters real files have and test files deliberately wrong ones.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from compiler import ir


class EncodeError(ValueError):
    """A value that cannot be written into its zone."""


def ascii_text(text: str) -> str:
    """Diacritics removed (the format is plain ASCII)."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c))


def encode(zone: ir.Zone, value: Any) -> bytes:
    """The characters of ``value`` in ``zone``; ``None`` is the empty zone."""
    if value is None:
        return zone.blank()
    if zone.kind == "A":
        if not isinstance(value, str | int):
            raise EncodeError(f"expected a text, got {type(value).__name__}")
        text = ascii_text(str(value))
        if not text.isascii():
            raise EncodeError(f"{value!r} has characters outside ASCII")
        if not text.isprintable():
            raise EncodeError(f"{value!r} has control characters (a zone holds printable text)")
        if len(text) > zone.length:
            raise EncodeError(f"{value!r} is longer than {zone.length} characters")
        return text.ljust(zone.length).encode("ascii")
    if zone.kind == "D":
        return _date(zone, value)
    if zone.kind == "S":
        if isinstance(value, bool) or not isinstance(value, int):
            raise EncodeError(f"expected an amount in cents, got {value!r}")
        digits = str(abs(value))
        if len(digits) > zone.length - 1:
            raise EncodeError(f"{value} does not fit {zone.length - 1} digits")
        return (("-" if value < 0 else "+") + digits.zfill(zone.length - 1)).encode("ascii")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EncodeError(f"expected a non-negative whole number, got {value!r}")
    digits = str(value)
    if len(digits) > zone.length:
        raise EncodeError(f"{value} does not fit {zone.length} digits")
    return digits.zfill(zone.length).encode("ascii")


def _date(zone: ir.Zone, value: Any) -> bytes:
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d").encode("ascii")
    if isinstance(value, int):
        text = str(value).zfill(8)
    elif isinstance(value, str):
        text = value.replace("-", "") if len(value) == 10 else value
    else:
        raise EncodeError(f"expected a date YYYY-MM-DD, got {value!r}")
    if len(text) != zone.length or not (text.isascii() and text.isdigit()):
        raise EncodeError(f"expected a date YYYY-MM-DD, got {value!r}")
    return text.encode("ascii")


def encode_raw(zone: ir.Zone, text: str) -> bytes:
    """Characters placed as given, aligned and padded like the zone (no validation)."""
    data = text.encode("latin-1", "replace")[: zone.length]
    if zone.kind in ("N", "D"):
        return data.rjust(zone.length, b"0")
    return data.ljust(zone.length, b" ")
