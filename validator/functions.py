"""Vectorised implementations of the check library (``compiler.library`` gives signatures).

Input: ``Val`` columns. Characters are columnar: a zone of width w over n records is a
``(w, n)`` uint8 array (one contiguous row per position), a constant text is ``(w, 1)``;
numbers are int64 vectors of length n.
Output: a ``Val`` per call. Each function is one small numpy computation over a whole chunk
of records; ``FUNCTIONS`` maps names to them (a new check is one function + one entry).

The identifier checks follow efact-920000.md §8.6 and are cross-checked against
python-stdnum in the tests; IBAN uses python-stdnum directly (only ET10/ET90 carry one).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from validator.values import Bool, Bytes2D, Ints, Val, lift, some

DIGIT0 = 48
# up to 15 digits a float64 dot product is exact: every partial sum is an integer < 2**53
EXACT_FLOAT_DIGITS = 15
_POWERS: dict[int, Ints] = {}
_FLOAT_POWERS: dict[int, np.ndarray] = {}


def text_of(v: Val) -> Bytes2D:
    """The characters of a value as a (width, n) array."""
    data = np.asarray(v.data, dtype=np.uint8)
    return data if data.ndim == 2 else data.reshape(-1, 1)


def digits_value(text: Bytes2D) -> Ints:
    """Integer value of digit characters (callers make sure they are digits)."""
    return digit_values(text - np.uint8(DIGIT0))


def digit_values(digits: Bytes2D) -> Ints:
    """Integer value of a (width, n) array of digits 0-9, one number per column."""
    width = digits.shape[0]
    if width <= 3:  # Horner: a few vector operations
        value = digits[0].astype(np.int64)
        for k in range(1, width):
            value = value * 10 + digits[k]
        return np.asarray(value, dtype=np.int64)
    if width <= EXACT_FLOAT_DIGITS:  # one matrix-vector product (BLAS), measured fastest
        powers = _FLOAT_POWERS.get(width)
        if powers is None:
            powers = _FLOAT_POWERS[width] = 10.0 ** np.arange(width - 1, -1, -1)
        return np.asarray(powers @ digits, dtype=np.float64).astype(np.int64)
    ints = _POWERS.get(width)
    if ints is None:
        ints = _POWERS[width] = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return np.asarray((ints[:, None] * digits).sum(axis=0), dtype=np.int64)


def parse_digits(text: Bytes2D) -> tuple[Bool, Ints]:
    """(all digits, value) of each column of characters; 0 where not all digits."""
    digits = text - np.uint8(DIGIT0)  # other characters wrap to 10 or more
    ok = np.asarray(np.maximum.reduce(digits, axis=0, initial=0) < 10, dtype=np.bool_)  # one pass
    if not np.logical_and.reduce(ok):  # the ufunc itself: ndarray.all has a Python layer
        digits = np.where(ok[None, :], digits, np.uint8(0))
    return ok, digit_values(digits)


def is_digits(text: Bytes2D) -> Bool:
    largest = np.maximum.reduce(text - np.uint8(DIGIT0), axis=0, initial=0)  # others wrap
    return np.asarray(largest < 10, dtype=np.bool_)


def numeric(v: Val) -> Val:
    return lift(is_digits(text_of(v)), v)


def _all_are(text: Bytes2D, code: int) -> Bool:
    """Per record, whether every character is ``code``: the largest distance from it is 0
    (uint8 wraps: characters below it are far too)."""
    return np.asarray(np.maximum.reduce(text - np.uint8(code), axis=0, initial=0) == 0)


def blank(v: Val) -> Val:
    return lift(_all_are(text_of(v), 32), v)


def zero(v: Val) -> Val:
    return lift(_all_are(text_of(v), DIGIT0), v)


def empty(v: Val) -> Val:
    """Only zeros and blanks: the empty zone as production writers leave it (zero-filled,
    blank-filled, or both). ``c | 16`` is 48 for exactly the codes 32 and 48."""
    t = text_of(v)
    return lift(_all_are(t | np.uint8(16), DIGIT0), v)


def present(v: Val) -> Val:
    t = text_of(v)
    return lift(~(_all_are(t, 32) | _all_are(t, DIGIT0)), v)


def _unknown_unless_digits(v: Val, text: Bytes2D, result: Bool) -> Val:
    """A check on digits says nothing about other characters: those rows are unknown.

    They stay explained when the zone already has a finding (its 'non numérique' rule).
    """
    digits = is_digits(text)
    out = lift(result & digits, v)
    bad = ~digits
    if not some(bad):
        return out
    if v.unknown is not None:
        bad = bad & ~np.broadcast_to(v.unknown, bad.shape)
    fresh = bad if v.flagged is None else bad & ~v.flagged
    unknown = bad if out.unknown is None else out.unknown | bad
    unexplained = fresh if out.unexplained is None else out.unexplained | fresh
    return Val(out.data, unknown, unexplained)


# days of each month (February: 29, told apart below), 0 for a number that is not a month
_MONTH_DAYS = np.zeros(256, dtype=np.uint8)
_MONTH_DAYS[1:13] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def valid_dates(text: Bytes2D) -> Bool:
    """YYYYMMDD characters that form a calendar date (year 1 or later).

    Month and day come from their two digits each (small integers, no division); the year
    is read only for a 29 February (leap years)."""
    digits = text - np.uint8(DIGIT0)  # other characters wrap to 10 or more
    ok = np.maximum.reduce(digits, axis=0, initial=0) < 10
    month = digits[4] * np.uint8(10) + digits[5]  # wraps for non-digits: not ok anyway
    day = digits[6] * np.uint8(10) + digits[7]
    good = ok & (day >= 1) & (day <= _MONTH_DAYS.take(month)) & digits[:4].any(axis=0)
    feb29 = good & (month == 2) & (day == 29)
    if some(feb29):
        year = digit_values(digits[:4])
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        good &= ~feb29 | leap
    return np.asarray(good, dtype=np.bool_)


def is_date(v: Val) -> Val:
    t = text_of(v)
    if t.shape[0] != 8:
        return lift(np.zeros(t.shape[1], dtype=np.bool_), v)
    return lift(valid_dates(t), v)


def is_time(v: Val) -> Val:
    t = text_of(v)
    if t.shape[0] != 4:
        return lift(np.zeros(t.shape[1], dtype=np.bool_), v)
    _, value = parse_digits(t)
    return _unknown_unless_digits(v, t, (value // 100 < 24) & (value % 100 < 60))


def niss_ok(v: Val) -> Val:
    """NISS/INSZ or BIS: CC = 97 - (first 9 digits mod 97), or with a 2 prefixed (born 2000+)."""
    t = text_of(v)
    if t.shape[0] < 11:
        return lift(np.zeros(t.shape[1], dtype=np.bool_), v)
    head, last = t[: t.shape[0] - 11], t[t.shape[0] - 11 :]
    zeros = _all_are(head, DIGIT0)
    ok = is_digits(last)
    base = digits_value(np.where(ok[None, :], last[:9], DIGIT0))
    check = digits_value(np.where(ok[None, :], last[9:], DIGIT0))
    before_2000 = 97 - base % 97
    after_2000 = 97 - (2_000_000_000 + base) % 97
    good = zeros & ok & (base > 0) & ((check == before_2000) | (check == after_2000))
    return _unknown_unless_digits(v, t, good)


def nihii_ok(v: Val) -> Val:
    """INAMI/RIZIV number: 6-digit base, CC = 97 - (base mod 97), 3-digit qualification."""
    t = text_of(v)
    if t.shape[0] < 11:
        return lift(np.zeros(t.shape[1], dtype=np.bool_), v)
    last = t[t.shape[0] - 11 :]  # a leading digit is the 'premier chiffre' rule's business
    ok = is_digits(last)
    base = digits_value(np.where(ok[None, :], last[:6], DIGIT0))
    check = digits_value(np.where(ok[None, :], last[6:8], DIGIT0))
    return _unknown_unless_digits(v, t, ok & (base > 0) & (check == 97 - base % 97))


def bce_ok(v: Val) -> Val:
    """BCE/KBO enterprise number: 10 digits, last two = 97 - (first 8 mod 97)."""
    t = text_of(v)
    if t.shape[0] < 10:
        return lift(np.zeros(t.shape[1], dtype=np.bool_), v)
    head, last = t[: t.shape[0] - 10], t[t.shape[0] - 10 :]
    zeros = _all_are(head, DIGIT0)
    ok = is_digits(last)
    base = digits_value(np.where(ok[None, :], last[:8], DIGIT0))
    check = digits_value(np.where(ok[None, :], last[8:], DIGIT0))
    return _unknown_unless_digits(v, t, zeros & ok & (base > 0) & (check == 97 - base % 97))


def iban_ok(v: Val) -> Val:
    """IBAN check digits (ISO 13616 mod 97-10), via python-stdnum, one record at a time."""
    t = text_of(v)
    out = np.zeros(t.shape[1], dtype=np.bool_)
    for i in range(t.shape[1]):
        text = t[:, i].tobytes().decode("latin-1").rstrip(" ")
        try:
            stdnum_iban.validate(text, check_country=False)
        except ValidationError:
            continue
        out[i] = " " not in text and text.isascii()
    return lift(out, v)


def bic_ok(v: Val) -> Val:
    """ISO 9362 shape: 4 letters (bank) + 2 letters (country) + 2 alphanumerics + 3 or blanks."""
    t = text_of(v)
    if t.shape[0] < 8:
        return lift(np.zeros(t.shape[1], dtype=np.bool_), v)
    upper = (t >= 65) & (t <= 90)
    alnum = upper | ((t >= 48) & (t <= 57))
    head = upper[:6].all(axis=0) & alnum[6:8].all(axis=0)
    branch = alnum[8:11].all(axis=0) | (t[8:11] == 32).all(axis=0)
    rest = (t[11:] == 32).all(axis=0) if t.shape[0] > 11 else True
    return lift(head & branch & rest, v)


MAX_RANGES = 3  # a character set of up to this many runs is tested by comparisons
_RANGES: dict[bytes, tuple[tuple[int, int], ...]] = {}


def _ranges(chars: Val) -> tuple[tuple[int, int], ...]:
    """The characters of a set as runs of consecutive codes (first, count), e.g. the digits
    as one run (48, 10); a constant set, computed once."""
    key = np.asarray(chars.data, dtype=np.uint8).tobytes()
    found = _RANGES.get(key)
    if found is None:
        runs: list[tuple[int, int]] = []
        for code in sorted(set(key)):
            if runs and runs[-1][0] + runs[-1][1] == code:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((code, 1))
        found = _RANGES[key] = tuple(runs)
    return found


def _members(text: Bytes2D, runs: tuple[tuple[int, int], ...]) -> Bool:
    """(width, n): whether each character is in the set (``_ranges``)."""
    if len(runs) > MAX_RANGES:  # a table lookup (its index copy costs more on few runs)
        table = np.zeros(256, dtype=np.bool_)
        for first, count in runs:
            table[first : first + count] = True
        return np.asarray(table[text], dtype=np.bool_)
    inside = np.zeros(text.shape, dtype=np.bool_)
    for first, count in runs:  # uint8 wraps: characters below the run are large too
        inside |= (text - np.uint8(first)) < count
    return inside


def only(v: Val, chars: Val) -> Val:
    text, runs = text_of(v), _ranges(chars)
    if len(runs) == 1:  # one run: the largest distance from its start, per record
        first, count = runs[0]
        return lift(np.maximum.reduce(text - np.uint8(first), axis=0, initial=0) < count, v)
    return lift(np.logical_and.reduce(_members(text, runs), axis=0), v)


def has_any(v: Val, chars: Val) -> Val:
    text, runs = text_of(v), _ranges(chars)
    if text.shape[0] == 0:
        return lift(np.zeros(text.shape[1], dtype=np.bool_), v)
    if len(runs) == 1:  # one run: the smallest distance from its start, per record
        first, count = runs[0]
        return lift(np.minimum.reduce(text - np.uint8(first), axis=0, initial=255) < count, v)
    return lift(np.logical_or.reduce(_members(text, runs), axis=0), v)


def control97(v: Val) -> Val:
    rest = np.asarray(v.data, dtype=np.int64) % 97
    return lift(np.where(rest == 0, 97, rest), v)


def charsum(v: Val, table: Val) -> Val:
    lut = np.asarray(table.data, dtype=np.int64)
    small = lut.astype(np.uint8) if lut.min() >= 0 and lut.max() <= 255 else lut
    return lift(small[text_of(v)].sum(axis=0, dtype=np.int64), v)


def signed(sign: Val, amount: Val) -> Val:
    """A magnitude with a separate sign character; unknown when the sign is not + or -."""
    s = text_of(sign)[0]
    plus, minus = s == ord("+"), s == ord("-")
    value = np.where(minus, -np.asarray(amount.data, dtype=np.int64), amount.data)
    bad = ~(plus | minus)
    if sign.unknown is not None:
        bad = bad & ~np.broadcast_to(sign.unknown, bad.shape)  # already unknown: keep its reason
    result = lift(value, sign, amount)
    if some(bad):
        unknown = bad if result.unknown is None else result.unknown | bad
        fresh = bad if sign.flagged is None else bad & ~sign.flagged
        unexplained = fresh if result.unexplained is None else result.unexplained | fresh
        result = Val(result.data, unknown, unexplained)
    return result


def period(year: Val, month: Val) -> Val:
    y = np.asarray(year.data, dtype=np.int64)
    m = np.asarray(month.data, dtype=np.int64)
    return lift(y * 10000 + m * 100 + 1, year, month)


def year_of(d: Val) -> Val:
    return lift(np.asarray(d.data, dtype=np.int64) // 10000, d)


def month_of(d: Val) -> Val:
    return lift(np.asarray(d.data, dtype=np.int64) // 100 % 100, d)


def abs_of(v: Val) -> Val:
    return lift(np.abs(np.asarray(v.data, dtype=np.int64)), v)


FUNCTIONS: dict[str, Callable[..., Val]] = {
    "numeric": numeric,
    "blank": blank,
    "zero": zero,
    "empty": empty,
    "present": present,
    "is_date": is_date,
    "is_time": is_time,
    "niss_ok": niss_ok,
    "nihii_ok": nihii_ok,
    "bce_ok": bce_ok,
    "iban_ok": iban_ok,
    "bic_ok": bic_ok,
    "only": only,
    "has_any": has_any,
    "control97": control97,
    "charsum": charsum,
    "signed": signed,
    "period": period,
    "year": year_of,
    "month": month_of,
    "abs": abs_of,
}
