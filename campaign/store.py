"""The campaign store: a database URL -> an engine at the newest schema, and transactions.

Input: a SQLAlchemy URL (``sqlite:///PATH``, ``postgresql+psycopg://…``); by default
``RULEBOOK_STORE``, else ``campaigns.db`` in the user's data directory.
Output: ``Store`` with ``write()`` (a transaction that holds the store's write lock on SQLite
— ``BEGIN IMMEDIATE`` in WAL mode — and takes row locks on PostgreSQL) and ``read()``.
Opening runs the Alembic migrations up to the newest revision, so an older store is brought
up to date and a new one created the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(ValueError):
    """The store cannot be opened or used; the text says why (never a traceback)."""


def data_dir() -> Path:
    """Where Rulebook keeps its state by default: ``$XDG_DATA_HOME/rulebook`` (else
    ``~/.local/share/rulebook``; ``%APPDATA%\\rulebook`` on Windows)."""
    base = os.environ.get("XDG_DATA_HOME") or os.environ.get("APPDATA")
    root = Path(base) if base else Path.home() / ".local" / "share"
    return root / "rulebook"


def default_url() -> str:
    configured = os.environ.get("RULEBOOK_STORE")
    if configured:
        return configured
    return f"sqlite:///{data_dir() / 'campaigns.db'}"


def _sqlite_setup(engine: Engine) -> None:
    """WAL (readers never wait for the writer), foreign keys, a writer waits up to 60 s for
    the lock; transactions are begun by us so that a write one can say IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver begins nothing by itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise StoreError(
                f"{self.url!r} is not a database URL (sqlite:///PATH, "
                "postgresql+psycopg://USER@HOST/DB)"
            ) from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"{self.url}: only SQLite and PostgreSQL stores are supported")
        options: dict[str, Any] = {}
        if self.dialect == "sqlite":
            database = parsed.database
            if not database or database == ":memory:":
                raise StoreError("a SQLite store needs a file (sqlite:///PATH)")
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"check_same_thread": False, "timeout": 60}
        else:
            options["pool_size"] = 20
            options["max_overflow"] = 20
            options["pool_pre_ping"] = True
        try:
            self.engine = create_engine(parsed, **options)
        except ModuleNotFoundError as exc:
            raise StoreError(f"{self.url}: the database driver is not installed ({exc})") from None
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(immediate=True), expire_on_commit=False
        )
        self.upgrade()
        self.engine.dispose()  # no connection made before a server forks its workers

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (creates a new store)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.execution_options(immediate=True).begin() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                head = ScriptDirectory.from_config(config).get_current_head()
                if current != head:
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"{self.redacted()}: {exc.orig}") from None

    def redacted(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
