"""Caches in one place: ``versions`` publishes each order's state version on commit; ``answers``
keeps rendered answers (info API, widget) valid exactly while that version is; ``counters``
counts within a window (answer and carrier call budgets)."""
