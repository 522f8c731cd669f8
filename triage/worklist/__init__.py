"""The worklist: items from flagged studies, their review, routing, SLA and queries.

Callers outside ``triage`` (the CLI, the TUI) use ``WorklistService`` and the value
types it returns; the modules below it take a session and run in the caller's
transaction (the pipeline calls ``sync.sync_item_for_study``).
"""
