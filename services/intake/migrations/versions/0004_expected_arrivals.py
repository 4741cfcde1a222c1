"""expected arrivals

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

Lists the Thai side sends ahead of a crossing, their people (linked to the registration that confirmed each
one's arrival), and how each source names its columns.
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expected_list",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("checkpoint_id", sa.String(16), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
    )
    op.create_index("ix_expected_list_checkpoint_id", "expected_list", ["checkpoint_id"])
    op.create_table(
        "expected_person",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("list_id", sa.Uuid(), sa.ForeignKey("expected_list.id"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("name_latin", sa.String(100), nullable=True),
        sa.Column("name_km", sa.String(100), nullable=True),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("id_doc_number", sa.String(30), nullable=True),
        sa.Column("origin", sa.String(120), nullable=True),
        sa.Column("group_label", sa.String(60), nullable=True),
        sa.Column("returnee_id", sa.Uuid(), nullable=True),
        sa.Column("arrived_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_expected_person_list_line", "expected_person", ["list_id", "line"])
    op.create_index("ix_expected_person_returnee_id", "expected_person", ["returnee_id"], unique=True)
    op.create_table(
        "column_mapping",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("column_mapping")
    op.drop_table("expected_person")
    op.drop_table("expected_list")
