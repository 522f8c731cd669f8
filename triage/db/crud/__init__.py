"""Keyword-only database functions, one module per area; callers own the transaction."""
