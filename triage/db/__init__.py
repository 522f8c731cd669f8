"""The study index: models, engine, migrations and keyword-only CRUD functions.

Nothing here connects at import; ``make_engine`` builds the engine at the entry point.
"""
