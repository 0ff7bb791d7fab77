"""Managing a booking from another conversation needs a PIN besides the reference; longer
references; failed tries are counted (per reference and per address) so that neither can be
guessed; a booking remembers the pseudonymised address that made it, for the booking limit.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.alter_column("reference", type_=sa.String(16), existing_type=sa.String(7), existing_nullable=False)
        batch.add_column(sa.Column("pin_hash", sa.String(64)))
        batch.add_column(sa.Column("client_key", sa.String(64)))
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("reference", type_=sa.String(16), existing_type=sa.String(7))
    op.create_table(
        "failed_tries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_failed_tries_key", "failed_tries", ["kind", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_failed_tries_key", "failed_tries")
    op.drop_table("failed_tries")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("reference", type_=sa.String(7), existing_type=sa.String(16))
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("client_key")
        batch.drop_column("pin_hash")
        batch.alter_column("reference", type_=sa.String(7), existing_type=sa.String(16), existing_nullable=False)
