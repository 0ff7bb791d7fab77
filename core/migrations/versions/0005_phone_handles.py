"""The phone number a user types for a booked call waits here under a handle until it is booked
(at most a day), so that Rasa's tracker never holds it (core/phone_numbers.py).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_handles",
        sa.Column("handle", sa.String(16), primary_key=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_phone_handles_sender", "phone_handles", ["sender_id"])


def downgrade() -> None:
    op.drop_index("ix_phone_handles_sender", "phone_handles")
    op.drop_table("phone_handles")
