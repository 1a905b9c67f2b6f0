"""Where the request budget is counted: this process, an SQLite file (one host) or Redis (a fleet).

`throttle.RequestBudget` is the face the client uses; `budget.setup.make_budget` builds it from the config.
"""

from destination_linkedin_capi.budget.base import BudgetStore, Grant, Limits, StoreUnavailable, Usage
from destination_linkedin_capi.budget.process import ProcessStore

__all__ = ["BudgetStore", "Grant", "Limits", "ProcessStore", "StoreUnavailable", "Usage"]
