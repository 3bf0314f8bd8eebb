"""The validator: a compiled rulebook and a file's bytes -> findings, verdict, report.

Input: ``compiler.Compiled`` and a binary stream.
Output: ``validator.report.Report``; ``validate`` never raises for bad file content.
"""

from validator.drive import iter_findings, validate, validate_many
from validator.report import Finding, Report, to_text

__all__ = ["Finding", "Report", "iter_findings", "to_text", "validate", "validate_many"]
