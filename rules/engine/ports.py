"""What the engine needs from the context engine (``rules.context.ContextEngine``
satisfies it); tests and benchmarks may pass their own."""

from __future__ import annotations

from typing import Protocol

from rules.context.model import ContextResult


class SentenceContext(Protocol):
    def context(self, target: tuple[int, int]) -> ContextResult: ...


class ContextPort(Protocol):
    def split_sentences(self, text: str) -> list[tuple[int, int]]: ...

    def scan(self, sentence: str) -> SentenceContext: ...
