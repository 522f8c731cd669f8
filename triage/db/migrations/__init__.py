"""Alembic migrations, shipped with the package and applied at start."""
