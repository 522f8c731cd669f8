"""Declarative rule files: schema, vocabulary, units and the validating loader."""
