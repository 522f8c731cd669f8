"""Small fixed word lists the engine itself uses (the rule files hold everything that is
about findings; these are about report structure).

- Recommendation cues: in a Recommendation section, a sentence with one of these asks
  for something ("MRI is recommended to assess for a tendon tear") and does not state a
  finding — unless the mention refers back to one ("follow-up of the hematoma").
- Laterality words for the text's side of a mention.
- Inline headings that Basic Text reports and image comments carry inside one text.
"""

from __future__ import annotations

import re

from rules.flags import Laterality
from rules.sr.model import Code, SectionRole

RECOMMENDATION_CUES: tuple[str, ...] = (
    "recommend",
    "recommended",
    "recommendation",
    "recommends",
    "consider",
    "considered",
    "suggest",
    "suggested",
    "advise",
    "advised",
    "follow up",
    "followup",
    "correlate",
    "correlation",
    "refer",
    "referral",
    "could be",
    "should be",
    "further evaluation",
    "further assessment",
    "evaluate",
    "assess",
    "exclude",
    "rule out",
    "if",
)

REFERRING_WORDS: tuple[str, ...] = (
    "the",
    "this",
    "these",
    "known",
    "above",
    "aforementioned",
    "described",
    "noted",
    "identified",
    "demonstrated",
)
REFERRING_WINDOW = 3
"""A referring word counts when it is at most this many words before the mention."""

LATERALITY_WORDS: dict[str, Laterality] = {
    "left": Laterality.LEFT,
    "lt": Laterality.LEFT,
    "lle": Laterality.LEFT,
    "lue": Laterality.LEFT,
    "right": Laterality.RIGHT,
    "rt": Laterality.RIGHT,
    "rle": Laterality.RIGHT,
    "rue": Laterality.RIGHT,
    "bilateral": Laterality.BILATERAL,
    "bilaterally": Laterality.BILATERAL,
    "bilat": Laterality.BILATERAL,
    "both": Laterality.BILATERAL,
}
"""Words that name a side wherever they stand (lower case)."""

SIDE_LETTERS: dict[str, Laterality] = {"L": Laterality.LEFT, "R": Laterality.RIGHT}
"""Capital single letters that name a side only in context (see ``rules.engine.sides``):
"R knee", "L calf", "(R)", "Baker's cyst L" — never "R/O" or "L4"."""

SIDE_CONTEXT: frozenset[str] = frozenset(
    {
        "knee", "knees", "calf", "calves", "leg", "legs", "thigh", "thighs", "popliteal",
        "pop", "ankle", "foot", "feet", "hip", "groin", "shin", "heel", "achilles", "le",
        "lower", "upper", "extremity", "limb", "gastrocnemius", "gastroc", "soleus",
        "medial", "lateral", "posterior", "anterior", "side", "cfv", "fv", "sfv", "gsv",
        "ssv", "ptv", "pv", "baker's", "bakers", "baker", "arm", "elbow", "wrist", "hand",
        "shoulder",
    }
)  # fmt: skip
"""Words after a capital L / R that make it a side."""

FINDING_CONCEPTS = frozenset({Code("121071", "DCM")})
"""CODE items with this concept name state a finding (a measurement group's ``findings``)."""

_HEADINGS: tuple[tuple[str, SectionRole], ...] = (
    (
        r"indications?|clinical (?:history|information|details|indications?|question)"
        r"|(?:past |relevant |medical |clinical )?history|hx|reason for (?:study|exam(?:ination)?|"
        r"referral|request)|referral reason|reason|request|question|query|presentation|symptoms"
        # What was done and what it is compared with: never a finding of this exam.
        r"|comparisons?|technique|exam(?:ination)?|procedure",
        SectionRole.CLINICAL,
    ),
    (r"findings?|report|sonographic findings|ultrasound findings|result", SectionRole.FINDINGS),
    (r"impressions?|conclusions?|summary|opinion|diagnosis", SectionRole.IMPRESSION),
    (r"recommendations?|advice|plan|follow[- ]up", SectionRole.RECOMMENDATION),
    (r"comments?|notes?|addendum", SectionRole.COMMENT),
)
HEADING = re.compile(
    r"(?:^|(?<=[.\n]))[ \t]*(?:\d+[.)][ \t]*)?("
    + "|".join(f"(?P<h{i}>{pattern})" for i, (pattern, _) in enumerate(_HEADINGS))
    + r")[ \t]*:",
    re.IGNORECASE,
)
HEADING_ROLES: tuple[SectionRole, ...] = tuple(role for _, role in _HEADINGS)

LABEL_LINE = re.compile(r"\n[ \t]*(?:\d+[.)][ \t]*)?[A-Z][A-Za-z0-9 /&'()-]{0,40}:")
"""A line that starts with its own label ("CFV: compressible", "Baker's cyst: yes")."""

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")

SIDE_HEADING = re.compile(
    r"(?:^|(?<=[.\n]))[ \t]*(?:\d+[.)][ \t]*)?"
    r"(?:(?i:(?P<word>left|right|bilateral|both))"
    r"(?i:[ \t]+(?:side|sides|leg|legs|lower[ \t]+(?:extremity|extremities|limb|limbs)|le|"
    r"knee|knees|calf|thigh|popliteal[ \t]+fossa|groin))?"
    r"|(?i:(?P<abbr>lt|rt|lle|rle|bilat))|(?P<letter>[LR]))[ \t]*:",
)
"""A side subheading inside a text: "RIGHT:", "Left leg:", "LLE:", "R:"."""
