"""Sends a user's message to Rasa's REST channel and returns Rasa's replies."""

import asyncio
from typing import List, Optional
from urllib.parse import quote

import aiohttp

from core.protocol import CLIENT, TURN
from services.internal_secrets import GATEWAY_HEADER


def webhook_url(rasa_url: str) -> str:
    """Rasa's channel for the gateway (services/gateway_channel.py)."""
    return f"{rasa_url}/webhooks/gateway/webhook"


class RasaUnavailable(Exception):
    """Rasa could not be reached or did not answer properly; the message may be retried."""


class RasaClient:
    def __init__(self, rasa_url: str, timeout_seconds: float, auth_token: str = "", channel_secret: str = "") -> None:
        self.rasa_url, self.auth_token = rasa_url, auth_token
        self.webhook_url = webhook_url(rasa_url)
        self.headers = {GATEWAY_HEADER: channel_secret}
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RasaUnavailable("the Rasa client is not started")
        return self._session

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    async def send(self, sender_id: str, text: str, turn_id: Optional[str] = None, client: str = "") -> List[dict]:
        """Rasa's replies. `turn_id` is the same for every try of one message, so an action
        with a lasting effect (a booking) can tell a retried turn from a new one; `client`
        (a pseudonym) lets the action server limit bookings per address."""
        body: dict = {"sender": sender_id, "message": text}
        metadata = {key: value for key, value in ((TURN, turn_id), (CLIENT, client)) if value}
        if metadata:
            body["metadata"] = metadata
        try:
            async with self.session.post(self.webhook_url, json=body, headers=self.headers) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
                replies = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from error
        if not isinstance(replies, list):
            raise RasaUnavailable("Rasa's answer was not a list")
        return replies

    async def tracker_events(self, sender_id: str) -> List[dict]:
        """The conversation's events since its last restart (Rasa's HTTP API, with the auth token)."""
        url = f"{self.rasa_url}/conversations/{quote(sender_id, safe='')}/tracker"
        params = {"include_events": "AFTER_RESTART", **({"token": self.auth_token} if self.auth_token else {})}
        try:
            async with self.session.get(url, params=params) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
                tracker = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from error
        return tracker.get("events") or []
