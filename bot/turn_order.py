"""One turn at a time per conversation across every gateway replica, first come first served.

Each replica already runs a conversation's messages one by one (bot/chat_queues.py). With
several replicas, two of them could still send the same conversation's messages to Rasa at once,
and Rasa's own Redis lock is not safe across servers (README, Running at scale: turns were
dropped or lost). So before a turn goes to Rasa, the replica takes a numbered ticket for the
conversation in Redis and waits until that number is being served; when the turn is done the
next number is. Every step is one atomic Lua script, timed by Redis's own clock.

A replica that dies holding a turn would block the conversation, so the holder renews a lease
while it works; a turn whose lease has run out is skipped. Without Redis (not configured, or
unreachable) turns are ordered within this process only, with a warning in the log.
"""

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Optional

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.shared_state import PREFIX, Warner

log = logging.getLogger(__name__)
LEASE_MS = 10_000  # a turn with no sign of life for this long is skipped
HEARTBEAT_SECONDS = 3.0  # how often the holder renews its lease
KEY_TTL_SECONDS = 3600  # an idle conversation's counters vanish after an hour
POLL_FIRST, POLL_MAX = 0.005, 0.05

_NOW_MS = "local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# KEYS: next ticket, number being served, when it last showed life. ARGV: ttl. Returns the ticket.
TAKE = (
    _NOW_MS
    + """
local ticket = redis.call('INCR', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], ticket)
  redis.call('SET', KEYS[3], now)
end
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[1]) end
return ticket
"""
)

# ARGV: ticket, lease ms, ttl. Returns 0 wait, 1 your turn, 2 your turn was skipped (run late).
POLL = (
    _NOW_MS
    + """
local ticket = tonumber(ARGV[1])
local serving = tonumber(redis.call('GET', KEYS[2]))
if serving == nil or serving == ticket then
  redis.call('SET', KEYS[2], ticket, 'EX', ARGV[3])
  redis.call('SET', KEYS[3], now, 'EX', ARGV[3])
  return 1
end
if serving > ticket then return 2 end
local since = tonumber(redis.call('GET', KEYS[3]) or '0')
if now - since > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], serving + 1, 'EX', ARGV[3])
  redis.call('SET', KEYS[3], now, 'EX', ARGV[3])
end
return 0
"""
)

# ARGV: ticket, ttl, done (1: serve the next ticket; 0: only renew the lease).
RENEW_OR_RELEASE = (
    _NOW_MS
    + """
if tonumber(redis.call('GET', KEYS[2])) ~= tonumber(ARGV[1]) then return 0 end
if ARGV[3] == '1' then redis.call('SET', KEYS[2], tonumber(ARGV[1]) + 1, 'EX', ARGV[2]) end
redis.call('SET', KEYS[3], now, 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
)


class TurnOrder:
    def __init__(
        self, redis: Optional[aioredis.Redis], lease_ms: int = LEASE_MS, heartbeat_seconds: float = HEARTBEAT_SECONDS
    ) -> None:
        self.redis, self.lease_ms, self.heartbeat_seconds = redis, lease_ms, heartbeat_seconds
        self.warner = Warner()
        if redis is not None:
            self._take = redis.register_script(TAKE)
            self._poll = redis.register_script(POLL)
            self._renew_or_release = redis.register_script(RENEW_OR_RELEASE)

    @contextlib.asynccontextmanager
    async def turn(self, conversation: str) -> AsyncIterator[None]:
        """Holds the conversation's turn across replicas while the body runs."""
        keys = [f"{PREFIX}:turn:{conversation}:{part}" for part in ("next", "serving", "since")]
        ticket = await self._ticket(keys)
        if ticket is None:
            yield
            return
        await self._wait(keys, ticket)
        heartbeat = asyncio.create_task(self._renew_while_working(keys, ticket))
        try:
            yield
        finally:
            heartbeat.cancel()
            await self._call(self._renew_or_release, keys, [ticket, KEY_TTL_SECONDS, 1])

    async def _ticket(self, keys) -> Optional[int]:
        if self.redis is None:
            return None
        result = await self._call(self._take, keys, [KEY_TTL_SECONDS])
        return None if result is None else int(result)

    async def _wait(self, keys, ticket: int) -> None:
        pause = POLL_FIRST
        while True:
            verdict = await self._call(self._poll, keys, [ticket, self.lease_ms, KEY_TTL_SECONDS])
            if verdict is None:
                return  # Redis went away: go on, ordered within this process only
            if int(verdict) == 2:
                log.warning("A conversation turn waited longer than its lease and runs late")
            if int(verdict) != 0:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, POLL_MAX)

    async def _renew_while_working(self, keys, ticket: int) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await self._call(self._renew_or_release, keys, [ticket, KEY_TTL_SECONDS, 0])

    async def _call(self, script, keys, arguments):
        try:
            return await script(keys=keys, args=arguments)
        except (RedisError, OSError) as error:
            self.warner.warn("conversation turns are ordered per gateway process", error)
            return None
