"""episode: the returnee's names, sex and age, for the facility staff's page

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: episodes opened before this (or by a hand-over ahead of the registration) have none yet.
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_km", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("name_latin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True))
        batch_op.add_column(sa.Column("age_years", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        for column in ("age_years", "sex", "name_latin", "name_km"):
            batch_op.drop_column(column)
