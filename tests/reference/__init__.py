"""The reference interpreter: the rulebook's IR evaluated one record at a time, written to be
read, used only by the tests to check the fast validator (``validator``) finding for finding.
"""
