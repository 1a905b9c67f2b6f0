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
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

import redis

from destination_linkedin_capi.budget.base import (
    COUNT_LIMIT,
    LONGEST_PAUSE_SECONDS,
    LONGEST_WAIT_SECONDS,
    SEEN_SECONDS,
    Grant,
    Limits,
    StoreUnavailable,
    Usage,
    garbage,
    leased_lock,
    next_utc_midnight,
    poll,
    stored_count,
    utc_day,
)

#: Lua shared by the scripts: the server's clock in ms, and a stored number checked before it is used. `checked`
#: answers nil for a value the connector never writes (text, inf, nan, out of range, a fraction where a count
#: belongs); the scripts then answer status 4 and which key, and the store is treated as unusable.
PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function checked(raw, low, high, whole)
  if not raw then return 0 end
  local value = tonumber(raw)
  if value == nil or value ~= value or value < low or value > high then return nil end
  if whole and value ~= math.floor(value) then return nil end
  return value
end
local longest = tonumber(ARGV[1])
local function pause_end(key) return checked(redis.call('GET', key), 0, now + longest, false) end
local function day_count(key) return checked(redis.call('GET', key), -COUNT_LIMIT, COUNT_LIMIT, true) end
""".replace("COUNT_LIMIT", str(COUNT_LIMIT))

#: KEYS: window, member day, sync day, pause, syncs seen. ARGV: longest wait ms, window ms, per window, per day,
#: sync per day (0: none), lifetime of the day keys (ms: until after midnight UTC), a unique member name, expiry of
#: the window key (ms), this connection's key, how long a connection counts as seen (ms).
#: Returns {status, wait ms, used today, sync used today, connections seen}; status 0 booked, 1 paused, 2 member
#: day spent, 3 this connection's day spent, 4 garbage (the second value is the index of the key holding it).
RESERVE = (
    PRELUDE
    + """
local window, per_window = tonumber(ARGV[2]), tonumber(ARGV[3])
local per_day, sync_per_day = tonumber(ARGV[4]), tonumber(ARGV[5])
local pause = pause_end(KEYS[4])
if pause == nil then return {4, 4, 0, 0, 0} end
local used, sync_used = day_count(KEYS[2]), day_count(KEYS[3])
if used == nil then return {4, 2, 0, 0, 0} end
if sync_used == nil then return {4, 3, 0, 0, 0} end
if pause > now then return {1, pause - now, 0, 0, 0} end
if used >= per_day then return {2, 0, used, sync_used, 0} end
if sync_per_day > 0 and sync_used >= sync_per_day then return {3, 0, used, sync_used, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local slot = now
if count >= per_window then
  local kth = redis.call('ZRANGE', KEYS[1], count - per_window, count - per_window, 'WITHSCORES')
  slot = math.max(now, tonumber(kth[2]) + window)
  if slot ~= slot or slot > now + longest then return {4, 1, 0, 0, 0} end
end
redis.call('ZADD', KEYS[1], slot, ARGV[7])
redis.call('PEXPIRE', KEYS[1], slot - now + window + tonumber(ARGV[8]))
used = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
sync_used = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
local seen_ms = tonumber(ARGV[10])
redis.call('ZADD', KEYS[5], now, ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - seen_ms)
redis.call('PEXPIRE', KEYS[5], seen_ms)
return {0, slot - now, used, sync_used, redis.call('ZCARD', KEYS[5])}
"""
)

#: KEYS: window, member day, sync day, pause. ARGV: longest wait ms, count, day keys' lifetime (ms), then the age
#: in ms of each request to add to the window. Returns {0} or {4, index of the key holding garbage}.
ADD_USED = (
    PRELUDE
    + """
if pause_end(KEYS[4]) == nil then return {4, 4} end
if day_count(KEYS[2]) == nil then return {4, 2} end
if day_count(KEYS[3]) == nil then return {4, 3} end
for day = 2, 3 do
  redis.call('INCRBY', KEYS[day], ARGV[2])
  redis.call('PEXPIRE', KEYS[day], ARGV[3])
end
for i = 4, #ARGV do
  redis.call('ZADD', KEYS[1], now - tonumber(ARGV[i]), 'rejoined:' .. now .. ':' .. i)
end
if #ARGV >= 4 then redis.call('PEXPIRE', KEYS[1], longest) end
return {0}
"""
)

#: KEYS: window. ARGV: window ms. Returns {booked requests in the window, server time ms}.
COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf'), now}
"""

#: KEYS: pause. ARGV: longest wait ms, seconds from now (ms). Sets the pause to the later of the two ends, on the
#: server clock (a value the connector did not write is replaced).
PAUSE = (
    PRELUDE
    + """
local until_ms = now + tonumber(ARGV[2])
if until_ms > (pause_end(KEYS[1]) or 0) then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[2]) + 1000) end
return until_ms
"""
)

#: KEYS: pause. ARGV: longest wait ms. Returns the milliseconds the pause still lasts (0: none; -1: garbage).
PAUSED = (
    PRELUDE
    + """
local pause = pause_end(KEYS[1])
if pause == nil then return -1 end
return math.max(0, pause - now)
"""
)

#: KEYS: lock. ARGV: holder. Deletes the lock only when this holder still has it (its lease may have ended).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

DAY_KEY_GRACE_MS = 3_600_000  # keep yesterday's count an hour past midnight, for `check` near midnight
LONGEST_WAIT_MS = int(LONGEST_WAIT_SECONDS * 1000)


def describe_url(url: str) -> str:
    """`Redis at host:port` (TLS noted), never the password or the user name."""
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
    except ValueError:
        port = "?"
    tls = " (TLS)" if parts.scheme == "rediss" else ""
    return f"Redis at {parts.hostname or '?'}:{port}{tls}"


@contextlib.contextmanager
def answering(description: str, unavailable: type[Exception] = StoreUnavailable) -> Iterator[None]:
    """A redis-py error becomes `unavailable`, naming the server as `description` does (host:port), never the URL."""
    try:
        yield
    except redis.RedisError as error:
        raise unavailable(f"{description} did not answer ({type(error).__name__})") from None


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
        self._add_used = self._redis.register_script(ADD_USED)

    def _talking(self) -> contextlib.AbstractContextManager[None]:
        return answering(self.description)

    @staticmethod
    def _day_lifetime_ms(now: float) -> int:
        """How long today's counter must live: until midnight UTC, plus an hour for `check` near midnight."""
        return int((next_utc_midnight(now) - now) * 1000) + DAY_KEY_GRACE_MS

    def _keys(self, key: str, sync_key: str, now: float) -> list[str]:
        """The keys a reservation reads, in the scripts' order: window, member day, sync day, pause, syncs seen."""
        base, day = f"{self.prefix}:{key}", utc_day(now)
        return [
            f"{base}:win",
            f"{base}:day:{day}",
            f"{self.prefix}:{sync_key}:day:{day}",
            f"{base}:pause",
            f"{base}:syncs",
        ]

    def _check(self, answer: list, keys: list[str]) -> list:
        """A script's answer, unless it found a value the connector did not write (status 4: which key)."""
        if int(answer[0]) == 4:
            raise garbage(self.description, f"key {keys[int(answer[1]) - 1]}")
        return answer

    def reserve(self, key: str, sync_key: str, limits: Limits, now: float) -> Grant:
        keys = self._keys(key, sync_key, now)
        args = [LONGEST_WAIT_MS, int(limits.window_with_margin * 1000), limits.per_window, limits.per_day]
        args += [limits.sync_per_day or 0, self._day_lifetime_ms(now), uuid.uuid4().hex, 1000, sync_key]
        with self._talking():
            answer = self._reserve(keys=keys, args=[*args, int(SEEN_SECONDS * 1000)])
        status, wait_ms, used, sync_used, seen = self._check(answer, keys)
        exhausted = {2: "member", 3: "sync"}.get(int(status))
        return Grant(int(status) == 0, int(wait_ms) / 1000, int(used), int(sync_used), exhausted, args[6], int(seen))

    def release(self, key: str, sync_key: str, booking: str, now: float) -> None:
        window, day, sync_day, *_ = self._keys(key, sync_key, now)
        with self._talking():
            pipe = self._redis.pipeline()
            pipe.zrem(window, booking)
            pipe.decr(day)
            pipe.decr(sync_day)
            pipe.execute()

    def pause(self, key: str, seconds: float, now: float) -> None:
        pause_ms = max(1, int(min(seconds, LONGEST_PAUSE_SECONDS) * 1000))
        with self._talking():
            self._pause(keys=[self._keys(key, key, now)[3]], args=[LONGEST_WAIT_MS, pause_ms])

    def paused_until(self, key: str, now: float) -> float:
        pause = self._keys(key, key, now)[3]
        with self._talking():
            remaining_ms = int(self._paused(keys=[pause], args=[LONGEST_WAIT_MS]))
        if remaining_ms < 0:
            raise garbage(self.description, f"key {pause}")
        return now + remaining_ms / 1000 if remaining_ms > 0 else 0.0

    def usage(self, key: str, limits: Limits, now: float) -> Usage:
        window, day, *_ = self._keys(key, key, now)
        with self._talking():
            in_window, _server_now = self._count(keys=[window], args=[int(limits.window_with_margin * 1000)])
            used = stored_count(self._redis.get(day) or 0)
        if used is None:
            raise garbage(self.description, f"key {day}")
        return Usage(int(in_window), used, self.paused_until(key, now))

    def add_used(self, key: str, sync_key: str, count: int, now: float, ages: Sequence[float] = ()) -> None:
        keys = self._keys(key, sync_key, now)[:4]
        args = [LONGEST_WAIT_MS, count, self._day_lifetime_ms(now)]
        with self._talking():
            answer = self._add_used(keys=keys, args=[*args, *(int(age * 1000) for age in ages)])
        self._check(answer, keys)

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
