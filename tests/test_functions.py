"""The check library: vectorised identifier checks agree with python-stdnum."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.be import bis, nn, vat

from compiler.library import FUNCTIONS as SIGNATURES
from validator.functions import (
    FUNCTIONS,
    bce_ok,
    digits_value,
    empty,
    has_any,
    iban_ok,
    is_date,
    is_time,
    nihii_ok,
    niss_ok,
    only,
    parse_digits,
)
from validator.values import Val


def column(*texts: str) -> Val:
    width = max(len(t) for t in texts)
    data = np.array([list(t.ljust(width).encode("latin-1")) for t in texts], dtype=np.uint8)
    return Val(np.ascontiguousarray(data.T))


def answer(v: Val) -> list[bool | None]:
    data = np.asarray(v.data, dtype=bool)
    unknown = np.zeros(data.shape, bool) if v.unknown is None else v.unknown
    return [None if u else bool(d) for d, u in zip(data, unknown, strict=True)]


def test_every_signature_has_an_implementation() -> None:
    assert set(SIGNATURES) == set(FUNCTIONS)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=99_999_999_999))
def test_niss_agrees_with_stdnum(number: int) -> None:
    text = f"{number:011d}"
    expected = nn.is_valid(text) or bis.is_valid(text)
    ours = answer(niss_ok(column("00" + text)))[0]
    # stdnum also checks the birth date; the check digit is all the instructions ask for
    if number // 100 == 0:
        assert ours is False  # an all-zero base is 'no number', even with a matching check
    elif expected:
        assert ours is True


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=999_999_999))
def test_valid_niss_numbers_pass_and_one_digit_changes_fail(first9: int) -> None:
    for base in (first9, 2_000_000_000 + first9):
        check = 97 - base % 97
        good = f"{first9:09d}{check:02d}"
        assert answer(niss_ok(column("00" + good)))[0] is True
    bad = f"{first9:09d}{(97 - first9 % 97) % 97 + 1:02d}"[:11]
    if not any(97 - b % 97 == int(bad[9:]) for b in (first9, 2_000_000_000 + first9)):
        assert answer(niss_ok(column("00" + bad)))[0] is False


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=9_999_999_999))
def test_bce_agrees_with_stdnum(number: int) -> None:
    text = f"{number:010d}"
    # an all-zero base is 'no number' for us, though stdnum accepts 0000000097
    expected = int(text[:8]) > 0 and int(text[8:]) == 97 - int(text[:8]) % 97
    assert answer(bce_ok(column(text)))[0] is expected
    if expected and text[0] in "01":
        assert vat.is_valid(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=999_999), st.integers(0, 999))
def test_nihii_check_digits(base: int, qualification: int) -> None:
    good = f"0{base:06d}{97 - base % 97:02d}{qualification:03d}"
    assert answer(nihii_ok(column(good)))[0] is True
    wrong = f"0{base:06d}{(97 - base % 97) % 97 + 1 if base % 97 else 1:02d}{qualification:03d}"
    if wrong != good:
        assert answer(nihii_ok(column(wrong)))[0] is False


def test_check_digits_are_unknown_on_non_digits() -> None:
    assert answer(nihii_ok(column("0123456250X3"))) == [None]
    assert answer(niss_ok(column("00850730O3328"))) == [None]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_is_date_accepts_every_calendar_date(day: dt.date) -> None:
    assert answer(is_date(column(day.strftime("%Y%m%d")))) == [True]


def calendar_date(text: str) -> bool:
    """The reference: Python's calendar (years 1 to 9999)."""
    if not (len(text) == 8 and text.isdigit()):
        return False
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


DATE_LIKE = st.one_of(
    st.builds(  # numbers shaped like dates, many of them impossible
        "{:04d}{:02d}{:02d}".format,
        st.sampled_from([0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999])
        | st.integers(0, 9999),
        st.sampled_from([0, 1, 2, 4, 12, 13]) | st.integers(0, 99),
        st.sampled_from([0, 1, 28, 29, 30, 31, 32]) | st.integers(0, 99),
    ),
    st.text(alphabet="0123456789 +-A/", min_size=8, max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(DATE_LIKE, min_size=1, max_size=12))
@example(["19000229", "20000229", "20240229", "20230229", "21000229", "00000229", "00040229"])
def test_is_date_is_the_calendar(texts: list[str]) -> None:
    """Leap years (29 February of 1900, 2000, 2024, 2100...), month and day bounds, year 0,
    other characters: the same answers as Python's calendar, several records at once."""
    assert answer(is_date(column(*texts))) == [calendar_date(t) for t in texts]


def test_is_date_rejects_impossible_dates() -> None:
    assert answer(is_date(column("20260230", "20261301", "2026010A", "00000000"))) == [
        False,
        False,
        False,
        False,
    ]
    assert answer(is_time(column("2359", "2400", "1260"))) == [True, False, False]


IBANS = [
    "BE71096123456769",
    "BE62510007547061",
    "NL91ABNA0417164300",
    "FR1420041010050500013M02606",
]


def test_iban_agrees_with_stdnum() -> None:
    for text in IBANS:
        assert answer(iban_ok(column(text))) == [stdnum_iban.is_valid(text)]
    assert answer(iban_ok(column("BE72096123456769"))) == [False]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=18, max_size=18), min_size=1, max_size=6))
def test_digit_values_are_exact_at_every_width(numbers: list[str]) -> None:
    """Each width has its own arithmetic (Horner, a float product up to 15 digits, integer
    weights above): every one gives the exact integer."""
    for width in range(1, 19):
        texts = [t[:width] for t in numbers]
        ok, value = parse_digits(np.asarray(column(*texts).data))
        assert ok.tolist() == [True] * len(texts)
        assert value.tolist() == [int(t) for t in texts]
        assert digits_value(np.asarray(column(*texts).data)).tolist() == [int(t) for t in texts]


def test_parse_digits_marks_other_characters() -> None:
    ok, value = parse_digits(np.asarray(column("0012", "00 2", "9x99", "9999").data))
    assert ok.tolist() == [True, False, False, True]
    assert value.tolist() == [12, 0, 0, 9999]


CHARACTERS = st.sampled_from(
    [0, 32, 43, 44, 45, 47, 48, 53, 57, 58, 65, 90, 97, 255]
) | st.integers(0, 255)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 6).flatmap(
        lambda width: st.lists(
            st.lists(CHARACTERS, min_size=width, max_size=width), min_size=1, max_size=6
        )
    ),
    st.lists(CHARACTERS, min_size=1, max_size=12),
)
@example([[47, 48], [48, 57], [57, 58], [48, 48]], list(b"0123456789"))  # one run and its edges
@example([[43, 32], [44, 44], [45, 46], [42, 42]], list(b"+-"))  # two runs and the gap
@example([[44], [46], [48], [255]], list(b"+-.0"))  # many runs
def test_only_and_has_any_are_set_membership(records: list[list[int]], chars: list[int]) -> None:
    """Runs of consecutive codes (the digits), several runs (+ and -), many runs (a table):
    each record's characters tested against the set, as Python's sets do."""
    width = len(records[0])
    text = np.array(records, dtype=np.uint8).reshape(len(records), width).T
    allowed = Val(np.array(chars, dtype=np.uint8))
    wanted = set(chars)
    assert answer(only(Val(np.ascontiguousarray(text)), allowed)) == [
        all(c in wanted for c in r) for r in records
    ]
    assert answer(has_any(Val(np.ascontiguousarray(text)), allowed)) == [
        any(c in wanted for c in r) for r in records
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(CHARACTERS, min_size=4, max_size=4), min_size=1, max_size=8))
@example([list(b"    "), list(b"0000"), list(b"   0"), list(b" 0 0")])  # blank, zero, both
@example([list(b"0001"), list(b"\x10   "), list(b"\x20\x20\x20\x30"), list(b"p0 0")])
def test_empty_is_zeros_and_blanks_only(records: list[list[int]]) -> None:
    """A numeric reserve left empty: zeros, blanks or both (nothing else, whatever bits
    the other characters share with them)."""
    text = np.ascontiguousarray(np.array(records, dtype=np.uint8).T)
    assert answer(empty(Val(text))) == [all(c in b" 0" for c in r) for r in records]
