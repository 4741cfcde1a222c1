"""facilities (beds, special care, supplies), episodes and check-ins

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:17:48.975090
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facility",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_km", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("occupancy", sa.Integer(), nullable=False),
        sa.Column("special_care", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 0", name="ck_facility_capacity"),
        sa.CheckConstraint("occupancy >= 0 AND occupancy <= capacity", name="ck_facility_occupancy"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("facility", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facility_province_code"), ["province_code"], unique=False)

    op.create_table(
        "episode",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("returnee_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("checkpoint_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("home_village_code", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("special_care", sa.JSON(), nullable=False),
        sa.Column("facility_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("referred", sa.Boolean(), nullable=False),
        sa.Column("referral_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("returnee_id", name="uq_episode_returnee"),
    )
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_episode_facility_id"), ["facility_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_episode_home_village_code"), ["home_village_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_episode_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_episode_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_episode_status"), ["status"], unique=False)

    op.create_table(
        "supply",
        sa.Column("facility_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("item", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("low_threshold", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
        ),
        sa.PrimaryKeyConstraint("facility_id", "item"),
    )
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("clear", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_episode_id"), ["episode_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_episode_id"))

    op.drop_table("checkin")
    op.drop_table("supply")
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_status"))
        batch_op.drop_index(batch_op.f("ix_episode_province_code"))
        batch_op.drop_index(batch_op.f("ix_episode_household_id"))
        batch_op.drop_index(batch_op.f("ix_episode_home_village_code"))
        batch_op.drop_index(batch_op.f("ix_episode_facility_id"))

    op.drop_table("episode")
    with op.batch_alter_table("facility", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facility_province_code"))

    op.drop_table("facility")
