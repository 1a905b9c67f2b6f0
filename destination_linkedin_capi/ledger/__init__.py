"""The sent-events ledger (`base.py`): what LinkedIn already accepted, kept in the request budget's store."""
