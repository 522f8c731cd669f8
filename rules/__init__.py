"""Pure rules library: SR content-tree view, ConText-style context, declarative rules.

Imports nothing of the application (no database, network, scheduler or TUI); see the
import-linter contracts in pyproject.toml.
"""
