"""Cuts a stream of text deltas into speakable chunks for speech synthesis.

The first chunk goes out as soon as its first clause is complete, so the interviewer can
start talking before the reply is written; later chunks are whole sentences, which
synthesise with better prosody. Nothing is held back at the end.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:—–]\s|[.!?…]+[\"')\]]*\s")
# Abbreviations whose period does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "ms.", "dr.", "prof.", "inc.", "ltd.", "st."}
)


class SpeechChunker:
    def __init__(self, *, first_clause_min_words: int = 3, max_chunk_chars: int = 240) -> None:
        self.first_clause_min_words = first_clause_min_words
        self.max_chunk_chars = max_chunk_chars
        self._buffer = ""
        self._emitted_any = False

    def push(self, delta: str) -> list[str]:
        """Add a delta; returns the chunks that are complete now."""
        self._buffer += delta
        chunks: list[str] = []
        while True:
            chunk = self._next_chunk()
            if chunk is None:
                break
            chunks.append(chunk)
        return chunks

    def flush(self) -> list[str]:
        """The rest of the text, at the end of the reply."""
        rest = " ".join(self._buffer.split())
        self._buffer = ""
        if rest:
            self._emitted_any = True
            return [rest]
        return []

    def _next_chunk(self) -> str | None:
        pattern = _SENTENCE_END if self._emitted_any else _CLAUSE_END
        for match in pattern.finditer(self._buffer):
            candidate = self._buffer[: match.end()]
            last_word = candidate.split()[-1].lower() if candidate.split() else ""
            if last_word in _ABBREVIATIONS:
                continue
            if not self._emitted_any and len(candidate.split()) < self.first_clause_min_words:
                continue
            return self._take(match.end())
        if len(self._buffer) > self.max_chunk_chars:
            # A very long run with no punctuation: cut at the last space to keep latency low.
            cut = self._buffer.rfind(" ", 0, self.max_chunk_chars)
            return self._take(cut if cut > 0 else self.max_chunk_chars)
        return None

    def _take(self, end: int) -> str:
        chunk = " ".join(self._buffer[:end].split())
        self._buffer = self._buffer[end:]
        self._emitted_any = True
        return chunk
