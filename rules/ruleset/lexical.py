"""Words: how text is cut into normalised tokens, and how a declared term becomes the
token sequences that match it.

Text and terms go through the same normalisation — lower case, apostrophes dropped,
every other non-letter a separator — so "Baker's", "Bakers'" and "BAKERS" are one token
and hyphens equal spaces. Spelling variants are *generated* from the declared term, never
computed on the text at match time, so matching stays one dictionary lookup per token:

- possessives: "baker's cyst" → "bakers cyst", "baker cyst";
- hyphens: "thick-walled" → "thick walled", "thickwalled";
- British and American spelling: "haematoma" ↔ "hematoma", "oedema" ↔ "edema",
  "tumour" ↔ "tumor", "hyperaemic" ↔ "hyperemic" ...;
- plurals of the last word (unless the term says ``plural: false``): "cyst" → "cysts",
  "bursa" → "bursae"/"bursas", "tophus" → "tophi", "body" → "bodies",
  "tendinosis" → "tendinoses".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHES = str.maketrans("", "", "'’")
MAX_VARIANTS = 256

# (British, American) spellings, as regex pairs over one token. Canonical form is
# American; the British forms are generated as variants.
_UK_TO_US: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(uk), us)
    for uk, us in (
        (r"haem", "hem"),
        (r"(?<=[a-z])aemi(?=a|c)", "emi"),
        (r"oedem", "edem"),
        (r"(?<=tum|col|hum|lab|fav)our", "or"),
        (r"paed", "ped"),
        (r"(fib|cent|calib|lit)re(?=s?$)", r"\1er"),
        (r"oesoph", "esoph"),
        (r"foet", "fet"),
        (r"^grey", "gray"),
        (r"isation", "ization"),
        (r"ise(?=d?$)", "ize"),
    )
)
_US_TO_UK: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(us), uk)
    for us, uk in (
        (r"hem(?=at|or|ar|os|op)", "haem"),
        (r"(?<=[a-z])emi(?=a|c)", "aemi"),
        (r"edem", "oedem"),
        (r"(?<=tum|col|hum|lab|fav)or(?=s?$)", "our"),
        (r"^ped(?=iat)|(?<=ortho)ped", "paed"),
        (r"(fib|cent|calib|lit)er(?=s?$)", r"\1re"),
        (r"esoph", "oesoph"),
        (r"^fet(?=al|us)", "foet"),
        (r"^gray", "grey"),
        (r"ization", "isation"),
    )
)


def normalise_token(raw: str) -> str:
    """One token as the matcher sees it: lower case, apostrophes removed."""
    return raw.lower().translate(_APOSTROPHES)


def tokens(text: str) -> list[str]:
    """The normalised tokens of ``text`` (no positions)."""
    return [normalise_token(m.group()) for m in TOKEN.finditer(text)]


def american(token: str) -> str:
    """The canonical (American) spelling of one normalised token."""
    for pattern, repl in _UK_TO_US:
        token = pattern.sub(repl, token)
    return token


def spellings(token: str) -> set[str]:
    """American and British spellings of one normalised token."""
    us = american(token)
    uk = us
    for pattern, repl in _US_TO_UK:
        uk = pattern.sub(repl, uk)
    return {us, uk, token}


def plurals(token: str) -> set[str]:
    """Regular and common Latin/Greek plurals of a medical noun."""
    out: set[str] = set()
    if len(token) < 3 or token[-1].isdigit():
        return out
    if token.endswith("itis"):
        return out  # synovitis, bursitis: no plural in reports
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return out  # already plural: "aggregates", "tophi" is declared as such
    if token.endswith("sis"):
        out.add(token[:-3] + "ses")
    elif token.endswith("us"):
        out.update({token[:-2] + "i", token + "es"})
    elif token.endswith("um"):
        out.update({token[:-2] + "a", token + "s"})
    elif token.endswith("oma"):
        out.update({token + "s", token + "ta"})
    elif token.endswith("a"):
        out.update({token + "e", token + "s"})
    elif token.endswith(("ex", "ix")):
        out.update({token[:-2] + "ices", token + "es"})
    elif token.endswith("y") and token[-2] not in "aeiou":
        out.add(token[:-1] + "ies")
    elif token.endswith(("s", "x", "z", "ch", "sh")):
        out.add(token + "es")
    else:
        out.add(token + "s")
    return out


def _token_alternatives(text: str) -> list[set[str]]:
    """Per-position alternatives for a declared phrase, hyphenated words both split and
    joined (so the positions can differ in number: returned as alternatives of whole
    segments, each a set of space-free strings joined by spaces)."""
    matches = list(TOKEN.finditer(text.lower()))
    segments: list[set[str]] = []
    i = 0
    while i < len(matches):
        # A run of tokens joined only by hyphens is one segment: "thick-walled".
        j = i
        while j + 1 < len(matches) and text[matches[j].end() : matches[j + 1].start()] == "-":
            j += 1
        run = [_word_forms(m.group()) for m in matches[i : j + 1]]
        forms: set[str] = set()
        for combo in itertools.product(*run):
            forms.add(" ".join(combo))
            if j > i:
                forms.add("".join(combo))
        segments.append(forms)
        i = j + 1
    return segments


def _word_forms(raw: str) -> set[str]:
    token = normalise_token(raw)
    forms = spellings(token)
    if raw.endswith(("'s", "’s")):
        # "baker's" → also "baker" (and "bakers" from dropping the apostrophe).
        forms |= spellings(token[:-1])
    return forms


def variants(text: str, *, plural: bool = True) -> set[tuple[str, ...]]:
    """Every token sequence that matches the declared phrase ``text``.

    Raises ValueError when the phrase has no words or explodes into more than
    ``MAX_VARIANTS`` sequences (a sign of a phrase that should be split)."""
    segments = _token_alternatives(text)
    if not segments:
        raise ValueError(f"term {text!r} has no words")
    if plural:
        last = segments[-1]
        extra: set[str] = set()
        for form in last:
            head, _, tail = form.rpartition(" ")
            extra |= {f"{head} {p}".strip() for p in plurals(tail)}
        segments[-1] = last | extra
    out: set[tuple[str, ...]] = set()
    for combo in itertools.product(*segments):
        out.add(tuple(" ".join(combo).split()))
        if len(out) > MAX_VARIANTS:
            raise ValueError(f"term {text!r} generates more than {MAX_VARIANTS} variants; split it")
    return out


def iter_token_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """(normalised token, start, end) over ``text``; offsets index ``text`` itself."""
    for m in TOKEN.finditer(text):
        yield normalise_token(m.group()), m.start(), m.end()
