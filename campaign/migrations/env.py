"""Alembic's environment for the campaign store: migrations run on the connection the store
hands over (``campaign.store.upgrade``), in its transaction; never from a URL in a file."""

from __future__ import annotations

from alembic import context

from campaign.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite changes tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
