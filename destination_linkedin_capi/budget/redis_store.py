"""A budget shared by every sync that reaches one Redis (Airbyte on Kubernetes): redis-py plus Lua scripts,
so each reservation is one atomic step on the server — no read-modify-write race between syncs.

Keys, under `<key_prefix>:<budget key>:`: `win` (sorted set of booked request times, server clock in ms),
`day:<YYYY-MM-DD>` (requests that UTC day, expiring an hour after its end), `pause` (fleet cool-down, epoch ms);
each connection's own day is `<key_prefix>:<sync key>:day:<YYYY-MM-DD>`; rule locks are `<key_prefix>:lock:<name>`.
The window uses the Redis server's clock, so syncs on hosts whose clocks differ still share one timeline.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis

from destination_linkedin_capi.budget.base import (
    Grant,
    Limits,
    StoreUnavailable,
    Usage,
    leased_lock,
    next_utc_midnight,
    poll,
    utc_day,
)

#: KEYS: window, member day, sync day, pause. ARGV: window ms, per window, per day, sync per day (0: none),
#: lifetime of the day keys (ms: until after midnight UTC), a unique member name, expiry of the window key (ms).
#: Returns {status, wait ms, used today, sync used today}; status 0 booked, 1 paused, 2 member day spent,
#: 3 this connection's day spent.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, per_window = tonumber(ARGV[1]), tonumber(ARGV[2])
local per_day, sync_per_day = tonumber(ARGV[3]), tonumber(ARGV[4])
local pause = tonumber(redis.call('GET', KEYS[4]) or '0')
if pause > now then return {1, pause - now, 0, 0} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local sync_used = tonumber(redis.call('GET', KEYS[3]) or '0')
if used >= per_day then return {2, 0, used, sync_used} end
if sync_per_day > 0 and sync_used >= sync_per_day then return {3, 0, used, sync_used} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local slot = now
if count >= per_window then
  local kth = redis.call('ZRANGE', KEYS[1], count - per_window, count - per_window, 'WITHSCORES')
  slot = math.max(now, tonumber(kth[2]) + window)
end
redis.call('ZADD', KEYS[1], slot, ARGV[6])
redis.call('PEXPIRE', KEYS[1], slot - now + window + tonumber(ARGV[7]))
used = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
sync_used = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {0, slot - now, used, sync_used}
"""

#: KEYS: window. ARGV: window ms. Returns {booked requests in the window, server time ms}.
COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf'), now}
"""

#: KEYS: pause. ARGV: seconds from now (ms). Sets the pause to the later of the two ends, on the server clock.
PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return until_ms
"""

#: KEYS: pause. Returns the milliseconds the pause still lasts (0: none), on the server clock.
PAUSED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - now)
"""

#: KEYS: lock. ARGV: holder. Deletes the lock only when this holder still has it (its lease may have ended).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

DAY_KEY_GRACE_MS = 3_600_000  # keep yesterday's count an hour past midnight, for `check` near midnight


def describe_url(url: str) -> str:
    """`Redis at host:port` (TLS noted), never the password or the user name."""
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
    except ValueError:
        port = "?"
    tls = " (TLS)" if parts.scheme == "rediss" else ""
    return f"Redis at {parts.hostname or '?'}:{port}{tls}"


class RedisStore:
    shared = True

    def __init__(self, url: str, key_prefix: str = "linkedin-capi", *, timeout: float = 2.0) -> None:
        self.description = describe_url(url)
        self.prefix = key_prefix
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        self._reserve = self._redis.register_script(RESERVE)
        self._count = self._redis.register_script(COUNT)
        self._pause = self._redis.register_script(PAUSE)
        self._paused = self._redis.register_script(PAUSED)
        self._release = self._redis.register_script(RELEASE)

    @contextlib.contextmanager
    def _talking(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as error:
            raise StoreUnavailable(f"{self.description} did not answer ({type(error).__name__})") from None

    @staticmethod
    def _day_lifetime_ms(now: float) -> int:
        """How long today's counter must live: until midnight UTC, plus an hour for `check` near midnight."""
        return int((next_utc_midnight(now) - now) * 1000) + DAY_KEY_GRACE_MS

    def _keys(self, key: str, now: float) -> tuple[str, str, str]:
        base = f"{self.prefix}:{key}"
        return f"{base}:win", f"{base}:day:{utc_day(now)}", f"{base}:pause"

    def reserve(self, key: str, sync_key: str, limits: Limits, now: float) -> Grant:
        window, day, pause = self._keys(key, now)
        sync_day = f"{self.prefix}:{sync_key}:day:{utc_day(now)}"
        window_ms = int(limits.window_with_margin * 1000)
        args = [window_ms, limits.per_window, limits.per_day, limits.sync_per_day or 0, self._day_lifetime_ms(now)]
        booking = uuid.uuid4().hex
        with self._talking():
            status, wait_ms, used, sync_used = self._reserve(
                keys=[window, day, sync_day, pause], args=[*args, booking, 1000]
            )
        exhausted = {2: "member", 3: "sync"}.get(int(status))
        return Grant(int(status) == 0, int(wait_ms) / 1000, int(used), int(sync_used), exhausted, booking)

    def release(self, key: str, sync_key: str, booking: str, now: float) -> None:
        window, day, _ = self._keys(key, now)
        with self._talking():
            pipe = self._redis.pipeline()
            pipe.zrem(window, booking)
            pipe.decr(day)
            pipe.decr(f"{self.prefix}:{sync_key}:day:{utc_day(now)}")
            pipe.execute()

    def pause(self, key: str, seconds: float, now: float) -> None:
        with self._talking():
            self._pause(keys=[self._keys(key, now)[2]], args=[max(1, int(seconds * 1000))])

    def paused_until(self, key: str, now: float) -> float:
        with self._talking():
            remaining_ms = self._paused(keys=[self._keys(key, now)[2]])
        return now + int(remaining_ms) / 1000 if int(remaining_ms) > 0 else 0.0

    def usage(self, key: str, limits: Limits, now: float) -> Usage:
        window, day, _ = self._keys(key, now)
        with self._talking():
            in_window, _server_now = self._count(keys=[window], args=[int(limits.window_with_margin * 1000)])
            used = self._redis.get(day)
        return Usage(int(in_window), int(used or 0), self.paused_until(key, now))

    def add_used(self, key: str, sync_key: str, count: int, now: float) -> None:
        _, day, _ = self._keys(key, now)
        sync_day = f"{self.prefix}:{sync_key}:day:{utc_day(now)}"
        with self._talking():
            pipe = self._redis.pipeline()
            for name in (day, sync_day):
                pipe.incrby(name, count)
                pipe.pexpire(name, self._day_lifetime_ms(now))
            pipe.execute()

    def _acquire(self, key: str, holder: str, lease_seconds: float, wait_seconds: float) -> bool:
        lease_ms = int(lease_seconds * 1000)

        def take() -> bool:
            with self._talking():
                return bool(self._redis.set(key, holder, nx=True, px=lease_ms))

        return poll(take, wait_seconds)

    def _give_back(self, key: str, holder: str) -> None:
        with self._talking():
            self._release(keys=[key], args=[holder])

    def lock(self, name: str, lease_seconds: float, wait_seconds: float) -> contextlib.AbstractContextManager[bool]:
        key = f"{self.prefix}:lock:{name}"
        return leased_lock(
            lambda holder: self._acquire(key, holder, lease_seconds, wait_seconds),
            lambda holder: self._give_back(key, holder),
        )

    def ping(self) -> None:
        with self._talking():
            self._redis.ping()

    def close(self) -> None:
        self._redis.close()
