from __future__ import annotations

from rules.engine.matcher import PhraseTable, tokenize


def _table(*phrases: str) -> tuple[PhraseTable, dict[str, int]]:
    table = PhraseTable()
    ids = {p: table.intern(tuple(p.split())) for p in phrases}
    return table, ids


def test_one_pass_finds_overlapping_phrases_of_any_length() -> None:
    table, ids = _table("cyst", "bakers cyst", "ruptured bakers cyst", "popliteal fossa")
    trie = table.trie()
    found = trie.find(tokenize("Ruptured Baker's cyst in the popliteal fossa."))
    assert {(m.start, m.end, m.phrase) for m in found} == {
        (0, 3, ids["ruptured bakers cyst"]),
        (1, 3, ids["bakers cyst"]),
        (2, 3, ids["cyst"]),
        (5, 7, ids["popliteal fossa"]),
    }


def test_phrases_do_not_span_hard_punctuation_but_do_span_brackets() -> None:
    table, ids = _table("popliteal cyst", "baker cyst")
    trie = table.trie()
    assert trie.find(tokenize("popliteal, cyst")) == []
    assert trie.find(tokenize("popliteal. Cyst")) == []
    found = trie.find(tokenize("Popliteal (Baker) cyst"))
    assert [(m.start, m.end, m.phrase) for m in found] == [(1, 3, ids["baker cyst"])]


def test_spans_index_the_original_text() -> None:
    tt = tokenize("No BAKER’S cyst.")
    assert tt.tokens == ("no", "bakers", "cyst")
    assert tt.raw(1) == "BAKER’S"
    assert (tt.starts[1], tt.ends[2]) == (3, 15)


def test_quick_test_only_looks_at_primary_phrases() -> None:
    table, ids = _table("bakers cyst", "popliteal fossa")
    trie = table.trie(primary=[ids["bakers cyst"]])
    assert trie.may_match("Small BAKER'S CYST")
    assert not trie.may_match("The popliteal fossa is normal.")
    assert trie.find(tokenize("popliteal fossa"))  # still found once a text is scanned
