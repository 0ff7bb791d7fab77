"""Deleting a conversation from Rasa's SQL tracker store (Rasa 3.6 has no endpoint for it).

Only called from a chat's own queue after Rasa has answered, so Rasa is not writing the same
conversation at that moment (it saves only events it has not stored yet, so deleting in the
middle of a turn could bring them back).
"""

from typing import Tuple

import sqlalchemy as sa


def tracker_store_url(settings) -> str:
    """The SQLAlchemy URL of Rasa's tracker store (bot/endpoints.py writes the same to Rasa)."""
    return settings.tracker_store_url or f"sqlite:///{settings.tracker_db}"


class ConversationStore:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)

    def delete(self, sender_id: str) -> int:
        """Deletes every stored event of the conversation; returns how many there were."""
        with self.engine.begin() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0  # Rasa has not stored anything yet
            result = connection.execute(sa.text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender_id})
        return result.rowcount

    IDLE = "SELECT sender_id FROM events GROUP BY sender_id HAVING max(timestamp) < :cutoff"

    def idle_conversations(self, cutoff: float) -> Tuple[int, int]:
        """(conversations, events) with no event since `cutoff` (a Unix time)."""
        with self.engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0, 0
            row = connection.execute(
                sa.text(f"SELECT count(DISTINCT sender_id), count(*) FROM events WHERE sender_id IN ({self.IDLE})"),
                {"cutoff": cutoff},
            ).one()
        return row[0], row[1]

    def delete_idle(self, cutoff: float) -> int:
        """Deletes every conversation with no event since `cutoff`; returns how many events went."""
        with self.engine.begin() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0
            result = connection.execute(
                sa.text(f"DELETE FROM events WHERE sender_id IN ({self.IDLE})"), {"cutoff": cutoff}
            )
        return result.rowcount

    def count(self, sender_id: str) -> int:
        with self.engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0
            return connection.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = :sender"), {"sender": sender_id}
            ).scalar()
