"""The small phrase syntax of the trigger lexicon, expanded to literal variants at load.

``{a|b c}`` means one of the alternatives, ``[x]`` or ``[x|y]`` means optional, ``<name>``
is any one word of a word class (the lexicon's ``classes``, or the built-in ``<date>``).
There is no nesting and nothing else: a phrase expands to a finite list of word
sequences, so matching stays a token-trie lookup (no regular expressions in the data).
"""

from __future__ import annotations

import itertools

from rules.context.tokens import phrase_tokens

MAX_VARIANTS = 1000


class PhraseSyntaxError(ValueError):
    pass


def expand(phrase: str) -> list[tuple[str, ...]]:
    """All token sequences ``phrase`` stands for, in a stable order, without repeats."""
    parts: list[list[str]] = []
    literal: list[str] = []
    i = 0
    while i < len(phrase):
        ch = phrase[i]
        if ch in "{[":
            close = "}" if ch == "{" else "]"
            end = phrase.find(close, i + 1)
            if end < 0:
                raise PhraseSyntaxError(f"'{ch}' at column {i + 1} is never closed")
            inner = phrase[i + 1 : end]
            if any(c in inner for c in "{}[]"):
                raise PhraseSyntaxError("groups cannot be nested")
            options = [o.strip() for o in inner.split("|")]
            if ch == "{":
                if len(options) < 2 or not all(options):
                    raise PhraseSyntaxError(
                        f"'{{{inner}}}' needs two or more non-empty alternatives "
                        "(use [x] for an optional word)"
                    )
            else:
                if not all(options):
                    raise PhraseSyntaxError(f"'[{inner}]' has an empty alternative")
                options.append("")
            parts.append(["".join(literal)])
            literal = []
            parts.append(options)
            i = end + 1
            continue
        if ch in "}]|":
            raise PhraseSyntaxError(f"unexpected '{ch}' at column {i + 1}")
        literal.append(ch)
        i += 1
    parts.append(["".join(literal)])

    variants: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for combo in itertools.product(*parts):
        tokens = phrase_tokens(" ".join(combo))
        if "<" in tokens or ">" in tokens:
            raise PhraseSyntaxError("'<' and '>' only enclose a word class name, e.g. <date>")
        if tokens and tokens not in seen:
            seen.add(tokens)
            variants.append(tokens)
            if len(variants) > MAX_VARIANTS:
                raise PhraseSyntaxError(f"expands to more than {MAX_VARIANTS} variants")
    if not variants:
        raise PhraseSyntaxError("phrase has no words")
    if any(all(not t[:1].isalnum() for t in v) for v in variants) and len(phrase.strip()) > 1:
        # A variant made only of punctuation (e.g. "[no]:" with "no" left out) would
        # fire on every colon; a single "?" or ";" on its own is deliberate.
        raise PhraseSyntaxError("a variant of this phrase has no words, only punctuation")
    return variants
