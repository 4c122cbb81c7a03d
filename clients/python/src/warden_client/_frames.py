"""Frames of Warden's protocol (``docs/protocol.md`` §2): a 16-byte big-endian header
(length, request id, method, flags, status, timeout_ms) and a protobuf body."""

from __future__ import annotations

import struct
from typing import NamedTuple

from .errors import ConnectionClosed

#: length (u32, 12 + body), request_id (u32), method (u16), flags (u8), status (u8), timeout_ms (u32).
HEADER = struct.Struct(">IIHBBI")
HEADER_SIZE = HEADER.size
#: The last frame a side sends for a request id.
END_STREAM = 0x01
#: Client → server: abandon a Watch or an unfinished client stream.
CANCEL = 0x02
#: The largest request frame (the ``length`` field) the server accepts by default (4 MiB).
MAX_REQUEST_FRAME = 4 << 20
#: The largest ``timeout_ms`` (u32).
MAX_TIMEOUT_MS = 0xFFFF_FFFF


class Frame(NamedTuple):
    """A response frame: its header fields and body."""

    request_id: int
    method: int
    flags: int
    status: int
    body: bytes


def encode(request_id: int, method: int, body: bytes, *, flags: int = END_STREAM, timeout_ms: int = 0) -> bytes:
    """One request frame: header and body."""
    return HEADER.pack(12 + len(body), request_id, method, flags, 0, timeout_ms) + body


def cancel_frame(request_id: int, method: int) -> bytes:
    """The header-only frame that cancels a Watch or an unfinished client stream."""
    return HEADER.pack(12, request_id, method, CANCEL, 0, 0)


def timeout_ms(seconds: float | None) -> int:
    """The ``timeout_ms`` field for a budget in seconds: 0 for none, else at least 1."""
    if seconds is None:
        return 0
    return min(MAX_TIMEOUT_MS, max(1, int(seconds * 1000)))


class FrameBuffer:
    """Cuts the bytes read from a connection into frames, keeping a partial frame for the next
    read. A length below 12 or above ``max_frame_size`` raises :class:`ConnectionClosed`: after
    that nobody knows where the next frame starts."""

    __slots__ = ("_buffer", "_max_frame_size")

    def __init__(self, max_frame_size: int) -> None:
        self._buffer = bytearray()
        self._max_frame_size = max_frame_size

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Adds bytes read and returns the frames they complete, in order."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        position, available = 0, len(buffer)
        unpack = HEADER.unpack_from
        while available - position >= HEADER_SIZE:
            length, request_id, method, flags, status, _ = unpack(buffer, position)
            if length < 12 or length > self._max_frame_size:
                raise ConnectionClosed(
                    f"Warden sent a frame of length {length}, outside 12..{self._max_frame_size}; not Warden's protocol"
                )
            end = position + 4 + length
            if end > available:
                break
            frames.append(Frame(request_id, method, flags, status, bytes(buffer[position + HEADER_SIZE : end])))
            position = end
        if position:
            del buffer[:position]
        return frames
