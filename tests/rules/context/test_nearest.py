"""The per-category index that answers targets of long texts agrees with the plain
loop, and a long run-on text with thousands of triggers is answered correctly."""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right

from rules.context import ContextEngine
from rules.context.nearest import NearestIndex, nearest_by_loop

TEXT = (
    "no not possible history of Baker's cyst effusion ? unlikely without rule out there is "
    "a , prior if mother again seen is not seen resolved versus hematoma and the small 2 cm "
    "previously noted ; but evaluation for negative should be excluded"
)
WORDS = TEXT.split(" ")


def test_the_index_agrees_with_the_loop(context_engine: ContextEngine) -> None:
    rng = random.Random(20250101)
    checked = 0
    for _ in range(120):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 300)))
        scan = context_engine.scan(text)
        starts, ends, hits = scan._starts, scan._ends, scan._hits
        index = NearestIndex(hits, len(starts))
        for _ in range(30):
            a = rng.randrange(len(starts))
            b = min(len(starts) - 1, a + rng.randint(0, 3))
            ts = bisect_right(ends, starts[a])
            te = max(ts, bisect_left(starts, ends[b]))
            loop = nearest_by_loop(hits, ts, te)
            fast = index.nearest(ts, te)
            assert {c: (d, h.start) for c, (d, h) in loop.items()} == {
                c: (d, h.start) for c, (d, h) in fast.items()
            }, (text, ts, te)
            checked += 1
    assert checked == 3600


def test_a_long_run_on_text_is_answered_per_mention(context_engine: ContextEngine) -> None:
    unit = "no thrombus there is a Baker's cyst possible hematoma without abscess "
    text = unit * 400  # one "sentence": 400 x 4 triggers, 1,600 mentions
    scan = context_engine.scan(text)
    assert len(scan.triggers) > 32  # answered from the index
    step = len(unit)
    for k in range(400):
        base = k * step
        cyst = base + unit.index("Baker's cyst")
        hematoma = base + unit.index("hematoma")
        abscess = base + unit.index("abscess")
        thrombus = base + unit.index("thrombus")
        assert scan.context((thrombus, thrombus + 8)).negated
        result = scan.context((cyst, cyst + 12))
        assert not result.negated
        assert result.certainty.value == "definite"
        assert scan.context((hematoma, hematoma + 8)).certainty.value == "possible"
        assert scan.context((abscess, abscess + 7)).negated
