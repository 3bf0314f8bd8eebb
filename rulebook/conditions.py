"""Reader conditions: problems the validator finds while reading a file, before any rule.

Input: none (a fixed list; the validator raises exactly these).
Output: the names a ``code … reports NAME`` declaration can bind to an official-looking code,
so that the codes, letters and FR/NL labels of reader findings live in the rulebook like
every other code.
"""

from __future__ import annotations

READER_CONDITIONS: dict[str, str] = {
    "empty_file": "the file is empty",
    "not_a_sending": "the file does not start like the message validated (another message, an "
    "archive, an image, a form upload...)",
    "truncated_header": "the file is shorter than its segments",
    "missing_segments": "the file starts with a record instead of its segments",
    "line_separators": "segments or records are separated by line breaks",
    "truncated_record": "the last record is shorter than the record length",
    "bad_record_length": "a line of a line-separated file that is not one record long",
    "unknown_record_type": "a record whose type no layout of the message describes",
    "invalid_characters": "bytes outside printable ASCII in a segment or record",
    "rule_not_evaluable": "a rule could not be evaluated and no other finding explains why",
    "too_many_records": "more records than the validator keeps for its end-of-file checks",
}

# The verdicts of design.md §5, which an answer message can be declared for
# (``answers 920000 rejected_blocking refusal 01``), and ``envelope``: a refusal of the
# bordereau itself (an error in segments 200/300 or records 95/96, reported in their
# 2-digit error zones).
VERDICTS: tuple[str, ...] = (
    "accepted",
    "accepted_with_errors",
    "rejected_threshold",
    "rejected_blocking",
)
ANSWER_CASES: tuple[str, ...] = (*VERDICTS, "envelope")
