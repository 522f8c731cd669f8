"""The triage pipeline: stable studies -> rules -> flags and worklist items.

- ``claims``: claiming due studies (``FOR UPDATE SKIP LOCKED``, leases) and reading them;
- ``documents``: the study's objects read from the archive; ``assess``: outcome and
  flags of one study (pure); ``merge``: per-document flags into per-study flags;
- ``store``: the finishing transaction; ``sweep``: the ``pipeline-sweep`` job;
- ``worker``: the ``msk-triage worker`` loop; ``leader``: the scheduler singleton.
"""
