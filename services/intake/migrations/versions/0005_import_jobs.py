"""import jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

Spreadsheets of registrations uploaded on the web and imported in the background: their progress, counts
and refused rows, so the page (or a second tab) can follow one to its end.
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("checkpoint_id", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("already", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
    )
    op.create_index("ix_import_job_checkpoint_id", "import_job", ["checkpoint_id"])


def downgrade() -> None:
    op.drop_table("import_job")
