"""The Textual worklist; talks only to ``triage.worklist``."""
