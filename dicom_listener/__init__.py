"""The DICOM Application Entity: association policy and C-ECHO / C-STORE handlers that
hand each instance to ``triage.ingest`` and answer with the status it returns."""
