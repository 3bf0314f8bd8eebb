"""Answer messages: writing the insurer's answers to a sending and reading any answer.

Pipeline: ``sending`` cuts the answered file into segments, records and invoices; ``write``
builds the acknowledgement and the verdict's answer from the answer messages of the rulebook;
``read`` parses any message the rulebook describes back into records and (letter, code) errors.
"""

from answer.read import ReadError, ReadMessage, read_message
from answer.write import Answer, AnswerError, answers_for

__all__ = ["Answer", "AnswerError", "ReadError", "ReadMessage", "answers_for", "read_message"]
