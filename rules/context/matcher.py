"""All lexicon phrases compiled into one token trie, matched leftmost-longest.

One pass over a sentence's tokens finds every trigger: at each token the trie is walked
as far as the following tokens allow and the longest phrase ending there wins, then the
scan resumes after it. So "no change in" (pseudo) hides "no" (negation) and "cannot be
excluded" (uncertainty) hides "cannot"; cost is proportional to the sentence, not to the
number of triggers.

A phrase may end in ``$`` (``tokens.END``): it then matches only where a sentence ends
("Effusion: no" at the end of a line); ``$`` consumes no token.

A phrase word may be a word class (``<name>``, any one word of the class): such an edge
is tried besides the literal one, and the longest match over all paths wins (a literal
path on a tie). A class never starts a phrase, so finding where phrases start stays one
dictionary lookup per token.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from rules.context.tokens import END, class_name


class _Node:
    __slots__ = ("children", "classes", "value")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.classes: list[tuple[Container[str], _Node]] = []
        self.value: int | None = None


class TokenTrie:
    def __init__(
        self,
        entries: Iterable[tuple[tuple[str, ...], int]],
        classes: Mapping[str, Container[str]] | None = None,
    ) -> None:
        """``classes``: the members of each word class a phrase may name as ``<name>``
        (a phrase naming a class not given here is a ``KeyError``)."""
        self._root = _Node()
        by_name: dict[int, dict[str, _Node]] = {}  # per node: class name -> child
        for tokens, value in entries:
            node = self._root
            for position, token in enumerate(tokens):
                name = class_name(token)
                if name is None:
                    child = node.children.get(token)
                    if child is None:
                        child = node.children[token] = _Node()
                else:
                    if position == 0:
                        raise ValueError(f"a word class cannot start a phrase: {tokens}")
                    members = (classes or {})[name]
                    named = by_name.setdefault(id(node), {})
                    child = named.get(name)
                    if child is None:
                        child = named[name] = _Node()
                        node.classes.append((members, child))
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
            while True:  # as _longest, inlined: this loop runs at every phrase start
                if node.children and (j == n or j in ends):
                    end = node.children.get(END)
                    if end is not None and end.value is not None and j >= best_end:
                        best_end, best_value = j, end.value
                if j >= n:
                    break
                word = words[j]
                for members, child in node.classes:
                    if word in members:
                        e, v = _longest(child, j + 1, words, ends)
                        if v is not None and e > best_end:
                            best_end, best_value = e, v
                nxt = node.children.get(word)
                if nxt is None:
                    break
                node = nxt
                j += 1
                if node.value is not None and j >= best_end:
                    best_end, best_value = j, node.value
            if best_value is None:
                i += 1
                continue
            out.append((i, best_end, best_value))
            i = best_end
        return out


def _longest(
    node: _Node, j: int, words: tuple[str, ...], ends: Container[int]
) -> tuple[int, int | None]:
    """The longest phrase through ``node`` (reached with ``j`` tokens consumed), or
    ending at it: its end token and value. The literal path is walked in a loop; class
    edges branch (recursively: a phrase is a few words long)."""
    n = len(words)
    best_end = -1
    best_value: int | None = None
    while True:
        if node.value is not None and j >= best_end:
            best_end, best_value = j, node.value
        if node.children and (j == n or j in ends):
            end = node.children.get(END)
            if end is not None and end.value is not None and j >= best_end:
                best_end, best_value = j, end.value
        if j >= n:
            break
        word = words[j]
        for members, child in node.classes:
            if word in members:
                e, v = _longest(child, j + 1, words, ends)
                if v is not None and e > best_end:
                    best_end, best_value = e, v
        nxt = node.children.get(word)
        if nxt is None:
            break
        node = nxt
        j += 1
    return best_end, best_value
