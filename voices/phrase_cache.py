"""Synthesized speech kept on disk, keyed by (model, voice, speed, text).

Entries are PCM16 at the model's own rate, one file each, written atomically (a
temporary file, then a rename), with a small header and a CRC so that a truncated or
damaged entry is ignored (and removed) instead of being played. The folder is bounded:
past ``max_bytes`` the least recently written entries go. A bounded in-memory copy of
recent entries answers hits without touching the disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import threading
import zlib
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger("intrvuer.voices.phrase_cache")

_MAGIC = b"IVPC"
_HEADER = struct.Struct("<4sIII")  # magic, sample rate, byte length, crc32


class PhraseCache:
    def __init__(self, folder: Path, *, max_bytes: int, memory_bytes: int = 32 << 20) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.memory_bytes = memory_bytes
        self.hits = 0
        self.misses = 0
        self._memory: OrderedDict[str, tuple[bytes, int]] = OrderedDict()
        self._memory_size = 0
        self._disk_size: int | None = None  # counted on first write
        self._lock = threading.Lock()

    @staticmethod
    def key(*, model_id: str, voice: str, speed: float, text: str) -> str:
        material = "\x00".join((model_id, voice, f"{speed:.3f}", text))
        return hashlib.sha256(material.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pcm"

    def get(self, key: str, *, count: bool = True) -> tuple[bytes, int] | None:
        """The PCM16 audio and its sample rate, or None. Safe from any thread."""
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                if count:
                    self.hits += 1
                return found
        found = self._read(key)
        with self._lock:
            if found is None:
                if count:
                    self.misses += 1
                return None
            if count:
                self.hits += 1
            self._remember(key, found)
        return found

    def contains(self, key: str) -> bool:
        with self._lock:
            if key in self._memory:
                return True
        return self.path(key).is_file()

    def put(self, key: str, pcm: bytes, sample_rate: int) -> None:
        """Store an entry; disk trouble is logged, never raised (the cache is optional)."""
        with self._lock:
            self._remember(key, (pcm, sample_rate))
        target = self.path(key)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        header = _HEADER.pack(_MAGIC, sample_rate, len(pcm), zlib.crc32(pcm))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as out:
                out.write(header)
                out.write(pcm)
            os.replace(temporary, target)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            log.warning("phrase cache write failed", extra={"error": error.__class__.__name__})
            return
        self._account(_HEADER.size + len(pcm))

    def _remember(self, key: str, entry: tuple[bytes, int]) -> None:
        if key in self._memory:
            self._memory.move_to_end(key)
            return
        self._memory[key] = entry
        self._memory_size += len(entry[0])
        while self._memory_size > self.memory_bytes and len(self._memory) > 1:
            _, (old, _) = self._memory.popitem(last=False)
            self._memory_size -= len(old)

    def _read(self, key: str) -> tuple[bytes, int] | None:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) >= _HEADER.size:
            magic, rate, length, crc = _HEADER.unpack_from(data)
            pcm = data[_HEADER.size :]
            if magic == _MAGIC and length == len(pcm) and zlib.crc32(pcm) == crc and rate > 0:
                return pcm, rate
        log.warning("phrase cache entry is damaged; ignoring it")
        path.unlink(missing_ok=True)
        return None

    def _account(self, added: int) -> None:
        with self._lock:
            if self._disk_size is None:
                self._disk_size = sum(p.stat().st_size for p in self._entries())
            else:
                self._disk_size += added
            if self._disk_size <= self.max_bytes:
                return
        self._evict()

    def _entries(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.glob("*/*.pcm") if p.is_file()]

    def _evict(self) -> None:
        """Drop the oldest entries until the folder is back under 90 % of its bound."""
        entries = []
        for path in self._entries():
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime_ns, stat.st_size, path))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        goal = int(self.max_bytes * 0.9)
        for _, size, path in entries:
            if total <= goal:
                break
            path.unlink(missing_ok=True)
            total -= size
        with self._lock:
            self._disk_size = total
