"""Tables of the intake service, in its own database."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.outbox import add_messaging_tables


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, so its migrations hold only its tables."""


metadata = Table.metadata
add_messaging_tables(metadata)
