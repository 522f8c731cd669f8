"""Combining the triggers that govern a target into one :class:`ContextResult`.

Per category only the nearest governing trigger counts. Any negation (or resolved)
negates; a prior mention ("previously noted") turns a negation into "resolved". An
uncertainty makes it possible, unless the hedge is itself inside the negation's scope
("no collection to suggest abscess"). A hedged negation ("unlikely") is negated and
possible, but gives way to a plain uncertainty ("less likely but cannot be excluded").
Temporality comes from the nearest historical or hypothetical trigger; a "current"
trigger ("unchanged", "again seen") cancels historical. A request to look for something
("evaluation for", an ``answered`` group) that a negation after it answers ("Evaluation
for DVT is negative", "... to rule out obstruction, which shows no obstruction") is a
result: negated and current. An experiencer trigger makes
the mention another person's.
"""

from __future__ import annotations

from rules.context.lexicon import TriggerCategory
from rules.context.model import (
    Certainty,
    ContextResult,
    Cue,
    CueKind,
    Experiencer,
    Temporality,
)
from rules.context.scope import Hit

_C = TriggerCategory

_CUE_KIND = {
    _C.NEGATION: CueKind.NEGATION,
    _C.RESOLVED: CueKind.RESOLVED,
    _C.UNCERTAINTY: CueKind.UNCERTAINTY,
    _C.HISTORICAL: CueKind.HISTORICAL,
    _C.HYPOTHETICAL: CueKind.HYPOTHETICAL,
    _C.EXPERIENCER: CueKind.EXPERIENCER,
}


def resolve(
    nearest: dict[TriggerCategory, tuple[int, Hit]], sentence: str, target_end: int
) -> ContextResult:
    """``target_end``: the token index just after the target."""
    cues: list[Cue] = []

    def cue(category: TriggerCategory, kind: CueKind | None = None) -> None:
        h = nearest[category][1]
        cues.append(Cue(kind or _CUE_KIND[category], sentence[h.span[0] : h.span[1]], h.span))

    negated = False
    possible = False
    hit = nearest[_C.NEGATION][1] if _C.NEGATION in nearest else None
    if hit is not None and hit.hedged and _C.UNCERTAINTY in nearest:
        hit = None  # "less likely, but cannot be excluded": possible, not negated
    if hit is not None:
        negated = True
        possible = hit.hedged
        resolved = _C.PRIOR_MENTION in nearest and not hit.hedged
        cue(_C.NEGATION, CueKind.RESOLVED if resolved else None)
    if _C.RESOLVED in nearest:
        negated = True
        cue(_C.RESOLVED)
    if _C.UNCERTAINTY in nearest:
        u = nearest[_C.UNCERTAINTY][1]
        # "No collection to suggest abscess": the hedge is itself negated.
        if hit is None or hit.hedged or not hit.lo <= u.start < hit.hi:
            possible = True
            cue(_C.UNCERTAINTY)

    temporality = Temporality.CURRENT
    hist = nearest.get(_C.HISTORICAL) if _C.CURRENT not in nearest else None
    hyp = nearest.get(_C.HYPOTHETICAL)
    if (
        hyp is not None
        and hyp[1].answered
        and hit is not None
        and not hit.hedged
        and (hit.start >= target_end or hit.start >= hyp[1].end)
    ):
        # "Evaluation for DVT is negative", "x-ray to rule out obstruction shows no
        # obstruction": the look was done, and this is its result.
        hyp = None
    if hyp is not None and (hist is None or hyp[0] <= hist[0]):
        temporality = Temporality.HYPOTHETICAL
        cue(_C.HYPOTHETICAL)
    elif hist is not None:
        temporality = Temporality.HISTORICAL
        cue(_C.HISTORICAL)

    experiencer = Experiencer.PATIENT
    if _C.EXPERIENCER in nearest:
        experiencer = Experiencer.OTHER
        cue(_C.EXPERIENCER)

    cues.sort(key=lambda c: c.span)
    return ContextResult(
        negated=negated,
        certainty=Certainty.POSSIBLE if possible else Certainty.DEFINITE,
        temporality=temporality,
        experiencer=experiencer,
        cues=tuple(cues),
    )
