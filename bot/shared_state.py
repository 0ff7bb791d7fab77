"""Gateway state that every replica shares through Redis (GATEWAY_REDIS_URL): flood limits per
chat, session and address, and pushes to a web visitor whose socket may be open on another
replica. Without GATEWAY_REDIS_URL everything stays in this process (one gateway).

While Redis is unreachable the gateway degrades instead of failing: limits are counted in this
process only and pushes reach the sockets open here, with a warning in the log (at most once a
minute), because answering users matters more than exact limits.
"""

import asyncio
import json
import logging
import time
import uuid
from typing import Awaitable, Callable, Optional

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.flood_guard import FloodGuard, Verdict

log = logging.getLogger(__name__)
PREFIX = "radgivning:gateway"
PUSH_CHANNEL = f"{PREFIX}:push"
CONSOLE_CHANNEL = f"{PREFIX}:console"  # the counsellors' live console (bot/console.py)
WARN_EVERY_SECONDS = 60

# A sliding window in one atomic step: drop old entries; accept (and clear the warning) while
# there is room; otherwise warn once, then drop. Returns 0 accept, 1 warn, 2 drop.
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('DEL', KEYS[2])
  return 0
end
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[5]) then return 1 end
return 2
"""
VERDICTS = {0: Verdict.ACCEPT, 1: Verdict.WARN, 2: Verdict.DROP}


class Warner:
    def __init__(self) -> None:
        self.last = 0.0

    def warn(self, what: str, error: Exception) -> None:
        if time.monotonic() - self.last > WARN_EVERY_SECONDS:
            self.last = time.monotonic()
            log.warning("Redis unavailable (%s: %s); %s for now", type(error).__name__, error, what)


def connect(url: str) -> Optional[aioredis.Redis]:
    """A Redis client for GATEWAY_REDIS_URL, or None when it is not set (one gateway, in process)."""
    if not url:
        return None
    return aioredis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


class SharedFloodGuard:
    """At most `limit` messages per `window` seconds per key, counted across all replicas."""

    def __init__(self, name: str, limit: int, window: float, redis: Optional[aioredis.Redis]) -> None:
        self.name, self.limit, self.window, self.redis = name, limit, window, redis
        self.local = FloodGuard(limit, window)
        self.warner = Warner()
        self._script = redis.register_script(SLIDING_WINDOW) if redis is not None else None

    async def check(self, key: object) -> Verdict:
        if self._script is None:
            return self.local.check(key)
        keys = [f"{PREFIX}:flood:{self.name}:{key}", f"{PREFIX}:warned:{self.name}:{key}"]
        arguments = [time.time(), self.window, self.limit, uuid.uuid4().hex, int(self.window) + 1]
        try:
            return VERDICTS[int(await self._script(keys=keys, args=arguments))]
        except (RedisError, OSError) as error:
            self.warner.warn("flood limits counted per gateway process", error)
            return self.local.check(key)

    async def forget(self, key: object) -> None:
        self.local.forget(key)
        if self.redis is not None:
            try:
                await self.redis.delete(f"{PREFIX}:flood:{self.name}:{key}", f"{PREFIX}:warned:{self.name}:{key}")
            except (RedisError, OSError) as error:
                self.warner.warn("nothing to forget in Redis", error)


Deliver = Callable[[str, dict], Awaitable[None]]


class PushBus:
    """Sends an event to a visitor's (or a counsellor's) open sockets, on whichever replica they are."""

    def __init__(self, redis: Optional[aioredis.Redis], deliver_here: Deliver, channel: str = PUSH_CHANNEL) -> None:
        self.redis, self.deliver_here, self.channel = redis, deliver_here, channel
        self.warner = Warner()
        self._listener: Optional[asyncio.Task] = None

    async def publish(self, sender: str, event: dict) -> None:
        if self.redis is None or self._listener is None or self._listener.done():
            await self.deliver_here(sender, event)
            return
        try:
            await self.redis.publish(self.channel, json.dumps({"sender": sender, "event": event}))
        except (RedisError, OSError) as error:
            self.warner.warn("pushes reach only the sockets open on this gateway", error)
            await self.deliver_here(sender, event)

    async def start(self) -> None:
        if self.redis is not None:
            self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()

    async def _listen(self) -> None:
        """Delivers every published event to the sockets open here; reconnects when Redis returns."""
        assert self.redis is not None  # started only with Redis
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        published = json.loads(message["data"])
                        await self.deliver_here(published["sender"], published["event"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ValueError) as error:
                self.warner.warn("pushes reach only the sockets open on this gateway", error)
                await asyncio.sleep(2)
