"""Hostile answers the fault plan can give an operation that has run: its headers a line
at a time (`trickle-headers`), or its body swapped for a decompression bomb (`gzip-bomb`).
Both let the fault campaign check that the client's whole-call deadline and its refusal of
encoded answers hold while real writes are made: the operation commits first, so a create
answered this way has made its key, and the client must find out which.

Kept apart from the ordinary answers: only these write a response by hand, byte by byte.
"""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass
from io import BufferedIOBase
from typing import Literal

__all__ = ["BOMB_EXPANDS_TO", "HostileAnswer", "gzip_bomb", "write_hostile"]

HostileKind = Literal["trickle-headers", "gzip-bomb"]

# What the bomb expands to: far past any client's cap, small to send (about 64 KB).
BOMB_EXPANDS_TO = 64 * 1024 * 1024
# One header line per pause; the trickle ends after at most `_TRICKLE_SECONDS`.
_TRICKLE_PAUSE = 0.1
_TRICKLE_SECONDS = 5.0

_bomb_lock = threading.Lock()
_bomb: bytes | None = None


@dataclass(frozen=True)
class HostileAnswer:
    """Write this instead of the operation's answer (which has been made, and is lost)."""

    kind: HostileKind
    status: int


def gzip_bomb() -> bytes:
    """A gzip body of BOMB_EXPANDS_TO spaces (JSON whitespace), made once."""
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            block = b" " * (1024 * 1024)
            parts = [packer.compress(block) for _ in range(BOMB_EXPANDS_TO // len(block))]
            _bomb = b"".join([*parts, packer.flush()])
        return _bomb


def write_hostile(answer: HostileAnswer, out: BufferedIOBase) -> None:
    """Write `answer` to a connection the caller closes afterwards. A client that hangs up
    ends it (OSError); so does the server stopping, which shuts every open connection."""
    try:
        if answer.kind == "gzip-bomb":
            body = gzip_bomb()
            out.write(
                f"HTTP/1.1 {answer.status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            out.flush()
            return
        out.write(f"HTTP/1.1 {answer.status} OK\r\n".encode())
        out.flush()
        ends = time.monotonic() + _TRICKLE_SECONDS
        line = 0
        while time.monotonic() < ends:
            time.sleep(_TRICKLE_PAUSE)
            out.write(f"X-Trickle-{line}: {'x' * 20}\r\n".encode())
            out.flush()
            line += 1
    except OSError:
        pass  # the client gave up on it, as it should
