"""Versions of the rulebook: sources at a git revision, semantic diff, replay of files.

Pipeline: ``source`` turns OLD / NEW (a directory or a git revision) into a rulebook
directory; ``diff`` compares two compiled rulebooks; ``replay`` validates files under both and
names the change behind every difference.
"""
