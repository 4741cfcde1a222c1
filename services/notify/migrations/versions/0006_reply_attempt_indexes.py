"""reply attempt indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Each SMS reply now counts the sender's wrong replies of the last hour and day, and a code's replies from
wrong numbers: both are index lookups rather than scans of every reply ever received. Codes get 8 digits;
`followup.code` had room for them already, and the 6-digit codes of open follow-ups stay valid.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reply_sender_received_at", "reply", ["sender", "received_at"])
    op.create_index("ix_reply_returnee_id", "reply", ["returnee_id"])


def downgrade() -> None:
    op.drop_index("ix_reply_returnee_id", table_name="reply")
    op.drop_index("ix_reply_sender_received_at", table_name="reply")
