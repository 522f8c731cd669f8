"""The rule set, loaded and compiled once per process (per set of rule paths).

Loading validates every rule file (~0.3 s for the default pack); a sweep every second
must not pay that. Rule files changed on disk take effect when the process restarts.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rules.api import RuleSet, load_ruleset
from triage.settings import Settings

_CACHE: dict[tuple[Path, ...], RuleSet] = {}
_LOCK = threading.Lock()


def ruleset_for(settings: Settings) -> RuleSet:
    """The compiled rule set of ``settings.rules_paths`` (empty: the default MSK pack).
    Raises ``rules.api.RuleSetError`` when a rule file is invalid."""
    key = tuple(path.resolve() for path in settings.rules_paths)
    with _LOCK:
        ruleset = _CACHE.get(key)
        if ruleset is None:
            ruleset = _CACHE[key] = load_ruleset(list(key) or None)
        return ruleset
