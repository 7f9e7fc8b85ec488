"""Where a Deepgram listen socket's audio sits on the stream's.

A reconnect replays audio the last socket heard but did not finalize, so each socket's
clock starts at a different stream sample, and a gap in the audio (dropped when the queue
overflowed) is a jump between the two clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voices.types import SAMPLE_WIDTH

# Audio as received by ``send``: (start, pcm), ``start`` counting samples since the stream
# began. A plain tuple of an int and bytes, which the garbage collector stops tracking: a
# session holds about a hundred of these for replay, and as tracked objects they would
# lengthen every full collection, a pause that every live session waits through.
Chunk = tuple[int, bytes]


def chunk_samples(chunk: Chunk) -> int:
    return len(chunk[1]) // SAMPLE_WIDTH


def chunk_end(chunk: Chunk) -> int:
    return chunk[0] + chunk_samples(chunk)


@dataclass
class Link:
    """One socket: where its audio clock sits on the stream's, and whether it worked."""

    rate: int
    # (connection sample, stream sample) where each run of contiguous audio begins.
    marks: list[tuple[int, int]] = field(default_factory=list)
    sent: int = 0  # samples sent on this connection
    heard: bool = False  # a message arrived: the connection worked

    def on_send(self, chunk: Chunk) -> None:
        start = chunk[0]
        if not self.marks or self.marks[-1][1] + (self.sent - self.marks[-1][0]) != start:
            self.marks.append((self.sent, start))
        self.sent += chunk_samples(chunk)

    def to_stream(self, seconds: float) -> float:
        """A time in this connection's audio (s) as a time in the stream's audio (s)."""
        sample = seconds * self.rate
        base_connection, base_stream = self.marks[0]
        for connection_at, stream_at in self.marks:
            if connection_at > sample:
                break
            base_connection, base_stream = connection_at, stream_at
        return round((base_stream + sample - base_connection) / self.rate, 3)
