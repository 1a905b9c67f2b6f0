"""The sent-events ledger in the request budget's Redis, shared by every sync that reaches it: one round trip per
call (a Lua script for claim, confirm and release; one MGET for seen; `count`, for `check`, scans).

One key per entry, `<key_prefix>:ledger:s:<16 key bytes>` holding when LinkedIn accepted the event (epoch ms) and
expiring when its conversion leaves LinkedIn's window; one key per claim, `<key_prefix>:ledger:c:<16 key bytes>`
holding the owner and expiring at the lease end. Redis drops both by itself, so nothing is ever swept, and the
scripts read the lease end on the server's clock, so syncs on hosts whose clocks differ agree on when a claim ran
out. Hash buckets with an expiry per field would be smaller, but need Redis 7.4 (HPEXPIRE); without it an expired
field lingers until something sweeps its bucket (docs/performance.md, "The ledger", compares the two).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

import redis

from destination_linkedin_capi.budget.base import garbage
from destination_linkedin_capi.budget.redis_store import answering, describe_url
from destination_linkedin_capi.ledger.base import CLAIMED, HELD, SENT, LedgerUnavailable, Verdict

#: The server's clock in ms, and an entry's stored acceptance time checked before it is used (nil: a value the
#: connector never writes; the scripts then answer {4, index of the key} and the store is treated as unusable).
PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function accepted_ms(raw)
  local value = tonumber(raw)
  if value == nil or value ~= value or value < 0 or value > 1e15 or value ~= math.floor(value) then return nil end
  return value
end
"""

#: ARGV: entry prefix, claim prefix, owner, lease ms, then the keys. Returns {0, status, at, status, at, …}.
CLAIM = (
    PRELUDE
    + """
local sent, claims, owner, lease = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {0}
for first = 5, #ARGV, 1000 do
  local last = math.min(first + 999, #ARGV)
  local names = {}
  for i = first, last do names[#names + 1] = sent .. ARGV[i] end
  local found = redis.call('MGET', unpack(names))
  for i = first, last do
    local raw = found[i - first + 1]
    if raw then
      local ms = accepted_ms(raw)
      if ms == nil then return {4, i - 4} end
      out[#out + 1] = 1
      out[#out + 1] = ms
    else
      local claim = claims .. ARGV[i]
      local holder = redis.call('GET', claim)
      if holder and holder ~= owner then
        local left = redis.call('PTTL', claim)
        if left < 0 then return {4, i - 4} end
        out[#out + 1] = 2
        out[#out + 1] = now + left
      else
        redis.call('SET', claim, owner, 'PX', lease)
        out[#out + 1] = 0
        out[#out + 1] = 0
      end
    end
  end
end
return out
"""
)

#: ARGV: entry prefix, claim prefix, accepted ms, then key, expires ms, key, expires ms, … An entry already expired
#: on the server's clock is not written.
CONFIRM = (
    PRELUDE
    + """
local sent, claims, accepted = ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV, 2 do
  local left = tonumber(ARGV[i + 1]) - now
  if left > 0 then redis.call('SET', sent .. ARGV[i], accepted, 'PX', left) end
  redis.call('DEL', claims .. ARGV[i])
end
return 0
"""
)

#: ARGV: claim prefix, owner, then the keys. Deletes only this owner's claims.
RELEASE = """
local claims, owner = ARGV[1], ARGV[2]
for i = 3, #ARGV do
  local claim = claims .. ARGV[i]
  if redis.call('GET', claim) == owner then redis.call('DEL', claim) end
end
return 0
"""

#: ARGV: SCAN cursor, pattern, count. Returns {next cursor, how many keys matched}: the keys stay on the server.
COUNT = """
local found = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
return {found[1], #found[2]}
"""

#: Keys a SCAN step looks at: ≈ 40 ms of the server's time each (bench/ledger_size.py), so `check` never holds
#: other syncs' calls up for long.
SCAN_COUNT = 10_000
_GLOB = re.compile(rb"([*?\[\]\\])")


def _stored_ms(raw: bytes | None) -> int | None:
    """An entry's acceptance time as the scripts write it; ValueError for anything else."""
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise ValueError(raw)
    return int(raw)


class RedisLedger:
    shared = True

    def __init__(self, url: str, key_prefix: str = "linkedin-capi", *, timeout: float = 2.0) -> None:
        self.description = describe_url(url)
        base = f"{key_prefix}:ledger:".encode()
        self._sent, self._claims = base + b"s:", base + b"c:"
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        self._claim = self._redis.register_script(CLAIM)
        self._confirm = self._redis.register_script(CONFIRM)
        self._release = self._redis.register_script(RELEASE)
        self._count = self._redis.register_script(COUNT)

    def _talking(self) -> contextlib.AbstractContextManager[None]:
        return answering(self.description, LedgerUnavailable)

    def _garbage(self, key: bytes) -> LedgerUnavailable:
        return LedgerUnavailable(str(garbage(self.description, f"a key for entry {key.hex()}")))

    def claim(self, keys: Sequence[bytes], owner: str, lease_ms: int) -> list[Verdict]:
        if not keys:
            return []
        with self._talking():
            answer = self._claim(args=[self._sent, self._claims, owner, max(1, int(lease_ms)), *keys])
        if int(answer[0]) == 4:
            raise self._garbage(keys[int(answer[1]) - 1])
        statuses = {0: CLAIMED, 1: SENT, 2: HELD}
        return [Verdict(statuses[int(answer[i])], int(answer[i + 1])) for i in range(1, len(answer), 2)]

    def confirm(self, keys: Sequence[bytes], expires_ms: Sequence[int], accepted_ms: int) -> None:
        if not keys:
            return
        pairs = [item for key, expires in zip(keys, expires_ms, strict=True) for item in (key, int(expires))]
        with self._talking():
            self._confirm(args=[self._sent, self._claims, int(accepted_ms), *pairs])

    def release(self, keys: Sequence[bytes], owner: str) -> None:
        if keys:
            with self._talking():
                self._release(args=[self._claims, owner, *keys])

    def seen(self, keys: Sequence[bytes]) -> list[int | None]:
        if not keys:
            return []
        with self._talking():
            values = self._redis.mget([self._sent + key for key in keys])
        seen = []
        for key, raw in zip(keys, values, strict=True):
            try:
                seen.append(_stored_ms(raw))
            except ValueError:
                raise self._garbage(key) from None
        return seen

    def count(self) -> int:
        """The unexpired entries, by a SCAN of their keys on the server (expired ones are not listed), counted there;
        for `check`, not per batch: ≈ 230k entries a second on a shared 2-core machine."""
        pattern = _GLOB.sub(rb"\\\1", self._sent) + b"*"
        cursor, total = b"0", 0
        with self._talking():
            while True:
                cursor, found = self._count(args=[cursor, pattern, SCAN_COUNT])
                total += int(found)
                if int(cursor) == 0:
                    return total

    def close(self) -> None:
        self._redis.close()
