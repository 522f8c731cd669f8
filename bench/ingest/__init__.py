"""Ingest benchmark: ``.venv/bin/python -m bench.ingest`` (see ``__main__``)."""
