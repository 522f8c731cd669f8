"""Packaged rule packs (YAML data; see docs/rules.md)."""
