"""Secret sinks: where a new key's apiKeySecret goes, and nowhere else."""

from __future__ import annotations

from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver, lost_record, sink_location

__all__ = ["KeyMeta", "deliver", "lost_record", "sink_location"]
