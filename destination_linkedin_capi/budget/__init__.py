"""What outlives one sync, kept in one store the user chooses: this process, an SQLite file (one host) or Redis (a
fleet). `request_budget.RequestBudget` is the face the LinkedIn client uses; `setup.make_budget` builds it."""
