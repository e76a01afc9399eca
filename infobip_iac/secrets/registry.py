"""The one registry of secret sinks: the manifest's `secret.sink` word -> its SecretSink."""

from __future__ import annotations

from infobip_iac.domain.keys import SinkKind
from infobip_iac.secrets.exec_sink import ExecSink
from infobip_iac.secrets.file_sink import FileSink
from infobip_iac.secrets.protocol import SecretSink
from infobip_iac.secrets.stdout_sink import NoSink, StdoutSink

__all__ = ["SINKS", "sink_for"]

SINKS: dict[SinkKind, SecretSink] = {
    sink.kind: sink for sink in (FileSink(), ExecSink(), StdoutSink(), NoSink())
}


def sink_for(kind: SinkKind) -> SecretSink:
    return SINKS[kind]
