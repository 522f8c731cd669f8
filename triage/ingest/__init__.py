"""Durable ingest: archive files and the study index. Transport-agnostic: the DICOM
listener and ``msk-triage import`` both hand objects here and act on the result."""

from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus

__all__ = ["IngestOutcome", "IngestResult", "StoreStatus"]
