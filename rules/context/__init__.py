"""ConText-style context detection with a data-driven trigger lexicon."""
