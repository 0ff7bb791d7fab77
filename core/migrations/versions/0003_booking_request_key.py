"""A booking remembers the conversation turn that made it, so a retried turn does not book twice.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("request_key", sa.String(64)))
    op.create_index("uq_bookings_request_key", "bookings", ["request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_bookings_request_key", "bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("request_key")
