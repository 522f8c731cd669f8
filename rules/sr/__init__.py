"""Structured Report reading: an immutable, typed content tree (see ``model``)."""
