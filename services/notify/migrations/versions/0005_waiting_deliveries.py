"""waiting deliveries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

`delivery.state` is a plain string (no CHECK constraint, no enum): `waiting` needs no schema change. The
alerts queued before this revision whose registration has not arrived become `waiting`, since the worker
now claims only alerts it can write.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE delivery SET state = 'waiting' WHERE state = 'queued' AND returnee_id IS NOT NULL"
        " AND (NOT EXISTS (SELECT 1 FROM returnee WHERE returnee.id = delivery.returnee_id)"
        " OR NOT EXISTS (SELECT 1 FROM followup WHERE followup.returnee_id = delivery.returnee_id))"
    )


def downgrade() -> None:
    # The code before this revision waits for the registration of a queued alert itself.
    op.execute("UPDATE delivery SET state = 'queued' WHERE state = 'waiting'")
