"""officers' screen

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

What the notify screen shows district and provincial officers: each contact's change history, the text and
area of inbound SMS (so the ones that matched nothing can be read and followed up), and the number each SMS
last went to. Replies received before this revision keep no text: it was never stored.
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("area_code", sa.String(6), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("old", sa.String(500), nullable=True),
        sa.Column("new", sa.String(500), nullable=True),
    )
    op.create_index("ix_contact_change_area_at", "contact_change", ["area_code", "at"])
    with op.batch_alter_table("reply") as batch:
        batch.add_column(sa.Column("text", sa.String(500), nullable=True))
        batch.add_column(sa.Column("area_code", sa.String(6), nullable=True))
    op.create_index("ix_reply_outcome_received_at", "reply", ["outcome", "received_at"])
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("sent_to", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("sent_to")
    op.drop_index("ix_reply_outcome_received_at", table_name="reply")
    with op.batch_alter_table("reply") as batch:
        batch.drop_column("area_code")
        batch.drop_column("text")
    op.drop_index("ix_contact_change_area_at", table_name="contact_change")
    op.drop_table("contact_change")
