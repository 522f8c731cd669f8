"""All lexicon phrases compiled into one token trie, matched leftmost-longest.

One pass over a sentence's tokens finds every trigger: at each token the trie is walked
as far as the following tokens allow and the longest phrase ending there wins, then the
scan resumes after it. So "no change in" (pseudo) hides "no" (negation) and "cannot be
excluded" (uncertainty) hides "cannot"; cost is proportional to the sentence, not to the
number of triggers.

A phrase may end in ``$`` (``tokens.END``): it then matches only where a sentence ends
("Effusion: no" at the end of a line); ``$`` consumes no token.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from rules.context.tokens import END


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.value: int | None = None


class TokenTrie:
    def __init__(self, entries: Iterable[tuple[tuple[str, ...], int]]) -> None:
        self._root = _Node()
        for tokens, value in entries:
            node = self._root
            for token in tokens:
                child = node.children.get(token)
                if child is None:
                    child = node.children[token] = _Node()
                node = child
            node.value = value

    def find(self, words: tuple[str, ...], ends: Container[int] = ()) -> list[tuple[int, int, int]]:
        """Non-overlapping ``(first token, end token, value)`` matches, left to right.
        ``ends``: token indices where a sentence ends inside ``words`` (its own end
        always counts), for phrases ending in ``$``."""
        root = self._root.children
        out: list[tuple[int, int, int]] = []
        n = len(words)
        i = 0
        while i < n:
            node = root.get(words[i])
            if node is None:
                i += 1
                continue
            best_end = i + 1 if node.value is not None else -1
            best_value = node.value
            j = i + 1
            while True:
                if node.children and (j == n or j in ends):
                    end = node.children.get(END)
                    if end is not None and end.value is not None:
                        best_end, best_value = j, end.value
                if j >= n:
                    break
                nxt = node.children.get(words[j])
                if nxt is None:
                    break
                node = nxt
                j += 1
                if node.value is not None:
                    best_end, best_value = j, node.value
            if best_value is None:
                i += 1
                continue
            out.append((i, best_end, best_value))
            i = best_end
        return out
