"""The ledger of this sync alone (the `process` store): a dict, forgotten at exit. Duplicate rows within one sync
are still sent once; re-syncs need a shared store (SQLite or Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from destination_linkedin_capi.ledger.base import CLAIMED_VERDICT, HELD, SENT, Verdict


class ProcessLedger:
    description = "this process"
    shared = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[bytes, tuple[int, int]] = {}  # key → (accepted ms, expires ms)
        self._claims: dict[bytes, tuple[str, int]] = {}  # key → (owner, lease end ms)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def claim(self, keys: Sequence[bytes], owner: str, lease_ms: int) -> list[Verdict]:
        now = self._now_ms()
        verdicts = []
        with self._lock:
            for key in keys:
                entry = self._sent.get(key)
                if entry is not None and entry[1] > now:
                    verdicts.append(Verdict(SENT, entry[0]))
                    continue
                held = self._claims.get(key)
                if held is not None and held[0] != owner and held[1] > now:
                    verdicts.append(Verdict(HELD, held[1]))
                    continue
                self._claims[key] = (owner, now + lease_ms)
                verdicts.append(CLAIMED_VERDICT)
        return verdicts

    def confirm(self, keys: Sequence[bytes], expires_ms: Sequence[int], accepted_ms: int) -> None:
        with self._lock:
            for key, expires in zip(keys, expires_ms, strict=True):
                self._sent[key] = (accepted_ms, expires)
                self._claims.pop(key, None)

    def release(self, keys: Sequence[bytes], owner: str) -> None:
        with self._lock:
            for key in keys:
                held = self._claims.get(key)
                if held is not None and held[0] == owner:
                    del self._claims[key]

    def seen(self, keys: Sequence[bytes]) -> list[int | None]:
        now = self._now_ms()
        with self._lock:
            return [entry[0] if (entry := self._sent.get(key)) and entry[1] > now else None for key in keys]

    def count(self) -> int:
        now = self._now_ms()
        with self._lock:
            return sum(1 for _, expires in self._sent.values() if expires > now)

    def close(self) -> None:
        pass
