"""The commands other than write: check and data-activation discover (the write path imports neither)."""
