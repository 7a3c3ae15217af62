"""Building the index from the documents in `knowledge/`.

The rest of the project reaches ingest through `run_ingest` (and `is_stale`) only.
"""

from ingest.pipeline import IngestBusy, IngestError, IngestReport, is_stale, run_ingest

__all__ = ["IngestBusy", "IngestError", "IngestReport", "is_stale", "run_ingest"]
