"""Pseudonymous sender ids: Rasa and the logs see a keyed hash, never a channel's own user id.

The key is SENDER_ID_SECRET; without it, a random key is created once in VAR_DIR and reused,
so ids stay stable across restarts. Several gateway replicas must share SENDER_ID_SECRET.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from core.settings import Settings

SECRET_FILE = "sender_id_secret"


def load_secret(settings: Settings) -> bytes:
    if settings.sender_id_secret:
        return settings.sender_id_secret.encode()
    path = Path(settings.var_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: if two processes race, one creates it and the other reads it.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as secret_file:
                secret_file.write(secrets.token_hex(32))
        except FileExistsError:
            pass
    return path.read_text().strip().encode()


class Pseudonyms:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sender_id(self, channel: str, channel_user_id: object) -> str:
        """E.g. ("telegram", 12345) -> "telegram-3f9c…" (32 hex digits, 128 bits)."""
        digest = hmac.new(self._secret, f"{channel}:{channel_user_id}".encode(), hashlib.sha256)
        return f"{channel}-{digest.hexdigest()[:32]}"
