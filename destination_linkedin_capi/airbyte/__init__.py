"""Airbyte's side of a write: input lines, the configured catalog, STATE and its destinationStats, config updates, cancellation."""
