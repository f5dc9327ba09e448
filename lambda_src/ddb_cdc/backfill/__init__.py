"""Backfill: items that existed before the stream, written as snapshot envelopes.

``scan`` (the segment loop, shared by the ``step_functions`` and ``checkpoint_table``
modes), ``checkpoint`` (the cursor-table state machine), ``export`` (point-in-time
export conversion), ``pages`` (the pure page -> object step), ``rate`` (the read-unit
limiter) and ``config``. The CLI's side lives in ``control``.
"""
