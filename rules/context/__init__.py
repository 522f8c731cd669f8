"""ConText-style context detection with a data-driven trigger lexicon.

``ContextEngine.default().scan(sentence).context((start, end))`` says whether the
mention at ``sentence[start:end]`` is negated, uncertain, historical/hypothetical or
about someone else. See docs/context.md.
"""

from rules.context.engine import ContextEngine, SentenceScan, Trigger
from rules.context.lexicon import Lexicon, LexiconError, TriggerCategory, load_lexicon
from rules.context.locate import find_all, locate
from rules.context.model import (
    AFFIRMED,
    Certainty,
    ContextResult,
    Cue,
    CueKind,
    Experiencer,
    Temporality,
)

__all__ = [
    "AFFIRMED",
    "Certainty",
    "ContextEngine",
    "ContextResult",
    "Cue",
    "CueKind",
    "Experiencer",
    "Lexicon",
    "LexiconError",
    "SentenceScan",
    "Temporality",
    "Trigger",
    "TriggerCategory",
    "find_all",
    "load_lexicon",
    "locate",
]
