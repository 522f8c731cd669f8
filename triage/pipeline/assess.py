"""One study's documents -> its triage outcome and flags (no I/O).

Which reports count: the latest revision of each SR, minus any SR that another SR of
the study names in its PredecessorDocumentsSequence (an amendment replaces it). Images
add the findings text of their headers. The outcome:

- ``flagged``: at least one flag (an unreadable report beside it is named in the detail);
- ``unreadable``: no flag, and a current report could not be read or evaluated;
- ``no_findings``: reports (or findings text) read, nothing to flag;
- ``no_report``: no SR and no header text the rules read.

A failure inside the rules for one document is that document's problem: it is recorded
as unreadable with the reason, and the other documents still count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from rules.api import RuleSet
from rules.flags import Evaluation
from rules.sr.model import SRDocument
from triage.db.models import TriageOutcome
from triage.pipeline.documents import StudyDocuments, Unreadable
from triage.pipeline.merge import DocumentFlags, StudyFlag, merge_flags

log = logging.getLogger(__name__)

MAX_DETAIL_LENGTH = 2000

Evaluate = Callable[[SRDocument, RuleSet], Evaluation]


@dataclass(frozen=True, slots=True)
class Assessment:
    outcome: TriageOutcome
    flags: tuple[StudyFlag, ...]
    detail: str | None  # why a report is unreadable
    superseded: tuple[str, ...] = ()  # SOP Instance UIDs of replaced reports


def assess(documents: StudyDocuments, ruleset: RuleSet, evaluate: Evaluate) -> Assessment:
    replaced = {uid for doc in documents.reports for uid in doc.predecessor_sop_instance_uids}
    current = [doc for doc in documents.reports if doc.sop_instance_uid not in replaced]
    problems = [p for p in documents.unreadable_reports if p.sop_instance_uid not in replaced]
    per_document: list[DocumentFlags] = []
    read_any = False
    for doc in (*current, *documents.images):
        try:
            evaluation = evaluate(doc, ruleset)
        except Exception as exc:
            # A bug in the rules for this document must not stop the study nor the sweep.
            log.exception("the rules failed on SOP instance %s", doc.sop_instance_uid)
            problems.append(
                Unreadable(doc.sop_instance_uid, f"rules error: {type(exc).__name__}: {exc}")
            )
            continue
        read_any = True
        if evaluation.flags:
            per_document.append(DocumentFlags(doc.sop_instance_uid, evaluation.flags))
    flags = merge_flags(per_document, ruleset.supersedes)
    detail = describe(problems)
    superseded = tuple(
        sorted(
            {doc.sop_instance_uid for doc in documents.reports if doc.sop_instance_uid in replaced}
            | {p.sop_instance_uid for p in documents.unreadable_reports}.intersection(replaced)
        )
    )
    if flags:
        outcome = TriageOutcome.FLAGGED
    elif problems:
        outcome = TriageOutcome.UNREADABLE
    elif read_any:
        outcome = TriageOutcome.NO_FINDINGS
    else:
        outcome = TriageOutcome.NO_REPORT
    return Assessment(outcome=outcome, flags=flags, detail=detail, superseded=superseded)


def describe(problems: list[Unreadable]) -> str | None:
    if not problems:
        return None
    text = "; ".join(f"report {p.sop_instance_uid}: {p.reason}" for p in problems)
    if len(text) > MAX_DETAIL_LENGTH:
        text = text[: MAX_DETAIL_LENGTH - 3] + "..."
    return text
