"""Bookings table with one active booking per (slot, seat).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ACTIVE_WHERE = sa.text("status IN ('booked', 'blocked')")


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(7), nullable=False, unique=True),
        sa.Column("slot_start", sa.DateTime, nullable=False),
        sa.Column("seat", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(128)),
        sa.Column("phone", sa.String(32)),
        sa.Column("nickname", sa.String(40)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "uq_active_seat",
        "bookings",
        ["slot_start", "seat"],
        unique=True,
        sqlite_where=ACTIVE_WHERE,
        postgresql_where=ACTIVE_WHERE,
    )
    op.create_index("ix_bookings_slot_start", "bookings", ["slot_start"])


def downgrade() -> None:
    op.drop_table("bookings")
