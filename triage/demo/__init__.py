"""``msk-triage demo``: synthetic lower-extremity venous Doppler (DVT) studies, with the
flags each must give, for a newcomer to watch the worklist fill.

Pure generation (pydicom and the ``rules.sr`` builder); sending is the CLI's job.
"""
