"""edgebench.cli: the host side (plans, runners, store, reports)."""
