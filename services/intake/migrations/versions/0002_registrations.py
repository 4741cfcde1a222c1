"""registrations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("checkpoint_id", sa.String(length=16), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrival_day", sa.Date(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer", sa.String(length=100), nullable=False),
        sa.Column("name_km", sa.String(length=100), nullable=False),
        sa.Column("name_latin", sa.String(length=100), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("age_years", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("id_doc_type", sa.String(length=20), nullable=False),
        sa.Column("id_doc_number", sa.String(length=30), nullable=True),
        sa.Column("home_village_code", sa.String(length=8), nullable=False),
        sa.Column("worked_in", sa.String(length=120), nullable=True),
        sa.Column("migration_status", sa.String(length=20), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("test_result", sa.String(length=10), nullable=False),
        sa.Column("special_care", sa.JSON(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.String(length=10), nullable=False),
        sa.Column("referred", sa.Boolean(), nullable=False),
        sa.Column("possible_duplicates", sa.JSON(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_registration_checkpoint_day", "registration", ["checkpoint_id", "arrival_day"], unique=False
    )
    op.create_index(op.f("ix_registration_household_id"), "registration", ["household_id"], unique=False)
    op.create_index(op.f("ix_registration_id_doc_number"), "registration", ["id_doc_number"], unique=False)
    op.create_index(
        "ix_registration_person", "registration", ["home_village_code", "date_of_birth"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_registration_person", table_name="registration")
    op.drop_index(op.f("ix_registration_id_doc_number"), table_name="registration")
    op.drop_index(op.f("ix_registration_household_id"), table_name="registration")
    op.drop_index("ix_registration_checkpoint_day", table_name="registration")

    op.drop_table("registration")
