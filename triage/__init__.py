"""msk-triage application core: settings, database, ingest, pipeline, CLI."""
