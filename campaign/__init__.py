"""Test campaigns: every party's answers to the same files, compared with the rulebook.

Pipeline: ``cases`` (baselines, mutants, declared cases of the pinned rulebook) ->
``instances`` (each case's file per participant and what the rulebook expects) -> ``intake``
(submitted answers matched by their echoed references, read into ``outcome``s) -> ``compare``
(a cell's state) -> ``matrix`` (every cell, divergences classified) -> ``render`` and ``html``
(text, CSV, JUnit, the static site); ``review`` for notes, decisions, diffs and snapshots,
``harness`` to run a participant's system locally, ``archive`` to export and verify.
``store`` and ``schema`` keep it all (SQLAlchemy, Alembic migrations; SQLite or PostgreSQL).
"""

from campaign.campaigns import Campaigns, open_campaigns
from campaign.core import COORDINATOR, CampaignError, Viewer
from campaign.store import Store, StoreError

__all__ = [
    "COORDINATOR",
    "CampaignError",
    "Campaigns",
    "Store",
    "StoreError",
    "Viewer",
    "open_campaigns",
]
