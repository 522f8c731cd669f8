"""Benchmarks of the pure rules library."""
