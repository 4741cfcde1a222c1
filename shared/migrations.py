"""Alembic, driven from code: each service keeps its revisions in `services/<name>/migrations`."""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine
from sqlalchemy.pool import NullPool

from shared.db import sync_url


def alembic_config(script_location: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    # Alembic's config is ConfigParser-based: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(script_location: Path, database_url: str) -> None:
    """Bring the database to the newest revision."""
    command.upgrade(alembic_config(script_location, database_url), "head")


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's `env.py` (online mode only: we always migrate a live database)."""
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_messaging_tables() -> None:
    """Create the outbox and inbox tables; every service's first revision calls this."""
    from alembic import op

    from shared.messaging.outbox import outbox, processed_event

    for table in (outbox, processed_event):
        table.create(op.get_bind())


def drop_messaging_tables() -> None:
    from alembic import op

    from shared.messaging.outbox import outbox, processed_event

    for table in (processed_event, outbox):
        table.drop(op.get_bind())
