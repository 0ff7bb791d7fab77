"""Live chat with a counsellor: the handoff of a conversation (bot → waiting → with a
counsellor → bot) and its human transcript, counsellor accounts with their logins, and the
anonymous "was the chat helpful?" counts (per day, never linked to a conversation).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN_WHERE = sa.text("state IN ('waiting', 'with_counsellor')")


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reply_to", sa.String(64)),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("crisis", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("topics", sa.String(200), nullable=False, server_default=""),
        sa.Column("counsellor", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("last_activity_at", sa.DateTime, nullable=False),
        sa.Column("wait_notice_sent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("ended_by", sa.String(16)),
        sa.Column("feedback_open", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_handoffs_sender", "handoffs", ["sender_id"])
    op.create_index("ix_handoffs_state", "handoffs", ["state"])
    op.create_index(
        "uq_handoffs_open_sender",
        "handoffs",
        ["sender_id"],
        unique=True,
        sqlite_where=OPEN_WHERE,
        postgresql_where=OPEN_WHERE,
    )
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_handoff_messages_handoff", "handoff_messages", ["handoff_id", "id"])
    op.create_table(
        "counsellor_accounts",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False, server_default=""),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("max_chats", sa.Integer, nullable=False, server_default="2"),
        sa.Column("available", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("seen_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "counsellor_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_counsellor_sessions_account", "counsellor_sessions", ["account"])
    op.create_table(
        "chat_feedback",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("answer", sa.String(8), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_feedback")
    op.drop_index("ix_counsellor_sessions_account", "counsellor_sessions")
    op.drop_table("counsellor_sessions")
    op.drop_table("counsellor_accounts")
    op.drop_index("ix_handoff_messages_handoff", "handoff_messages")
    op.drop_table("handoff_messages")
    op.drop_index("uq_handoffs_open_sender", "handoffs")
    op.drop_index("ix_handoffs_state", "handoffs")
    op.drop_index("ix_handoffs_sender", "handoffs")
    op.drop_table("handoffs")
