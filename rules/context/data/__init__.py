"""Packaged data for the context engine (the default trigger lexicon)."""
