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
    "right": Laterality.RIGHT,
    "rt": Laterality.RIGHT,
    "bilateral": Laterality.BILATERAL,
    "bilaterally": Laterality.BILATERAL,
    "both": Laterality.BILATERAL,
}

FINDING_CONCEPTS = frozenset({Code("121071", "DCM")})
"""CODE items with this concept name state a finding (a measurement group's ``findings``)."""

_HEADINGS: tuple[tuple[str, SectionRole], ...] = (
    (
        r"indications?|clinical (?:history|information|details|indications?|question)"
        r"|(?:past |relevant |medical |clinical )?history|reason for (?:study|exam(?:ination)?|"
        r"referral|request)|referral reason|request|presentation|symptoms",
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
