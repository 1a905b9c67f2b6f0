"""From the config to the sync's `LedgerStore`: the store the user chose for the request budget (`request_budget`),
so one choice covers what outlives a sync. Keys are (rule URN, eventId) digests and a rule belongs to one ad
account, so the ledger needs no scope of its own; in Redis it lives under `<key_prefix>:ledger:`."""

from __future__ import annotations

from destination_linkedin_capi.budget.setup import register_url_secrets
from destination_linkedin_capi.config.budget_store import RedisBudget, SqliteBudget
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.ledger.base import LedgerStore
from destination_linkedin_capi.ledger.process import ProcessLedger


def make_ledger(config: ConnectorConfig) -> LedgerStore:
    setting = config.request_budget
    if isinstance(setting, SqliteBudget):
        from destination_linkedin_capi.ledger.sqlite_store import SqliteLedger

        return SqliteLedger(setting.path.strip())
    if isinstance(setting, RedisBudget):
        from destination_linkedin_capi.ledger.redis_store import RedisLedger

        register_url_secrets(setting.url.strip())
        return RedisLedger(setting.url.strip(), setting.key_prefix.strip())
    return ProcessLedger()
