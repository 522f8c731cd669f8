"""Fixtures for the context-engine tests."""

from __future__ import annotations

import pytest

from rules.context import ContextEngine


@pytest.fixture(scope="session")
def context_engine() -> ContextEngine:
    # Immutable after construction, so one compiled default engine serves every test.
    return ContextEngine.default()
