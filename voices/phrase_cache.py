"""Synthesized sentences kept for reuse: generic ones on disk, personal ones only in memory.

Which sentences are generic is decided by construction, never guessed from the text: the
cache is given the texts that carry nothing of any candidate (``generic``: the offline
interviewer's fixed replies and the untailored question bank), cuts them into sentences
exactly as synthesis does (``segments``), and only a sentence of that set is ever written
to disk. Every other sentence (a greeting that names the candidate, a question made from
a resume or a job, an LLM's reply) is *private*: it lives in memory under its owner (one
interview), never on disk, and is dropped when the owner's last synthesis stream closes,
when the owner is forgotten (the interview is deleted), or, if it was prepared for a
stream that never opened, ``unclaimed_s`` after it was prepared. A private sentence is
found only by its own owner, so one candidate's audio is never played to another.

Disk entries are PCM16 at the model's own rate, one file each, written atomically (a
temporary file, then a rename), with a small header and a CRC so that a truncated or
damaged entry is ignored (and removed) instead of being played. The folder is bounded:
past ``max_bytes`` the least recently written entries go. One bounded in-memory LRU holds
recent generic entries (so a hit costs no disk read) and the private ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import struct
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from voices.text_normalize import segments

log = logging.getLogger("intrvuer.voices.phrase_cache")

# The disk tier's folder under DATA_DIR/cache. v2 holds generic sentences only; the
# folders of older formats held every sentence, personal ones too, and are removed at
# start-up (``remove_outdated``).
DISK_FOLDER = "phrases-v2"
_OUTDATED = ("phrases",)
MEMORY_BYTES = 64 << 20
# A private sentence prepared before its stream opens (at interview creation, or for a
# connection whose session has not started) waits this long for it; creating an
# interview and joining it are usually seconds apart.
UNCLAIMED_S = 600.0

_MAGIC = b"IVP2"
_HEADER = struct.Struct("<4sIII")  # magic, sample rate, byte length, crc32


@dataclass(frozen=True, slots=True)
class PhraseKey:
    """One sentence as one voice speaks it: the unit of the cache."""

    model_id: str
    voice: str
    speed: float
    text: str  # one normalised sentence, as ``segments`` makes them

    @property
    def digest(self) -> str:
        material = "\x00".join((self.model_id, self.voice, f"{self.speed:.3f}", self.text))
        return hashlib.sha256(material.encode()).hexdigest()


@dataclass(eq=False)
class PhraseOwner:
    """Whose private sentences these are (an interview id), and who holds them."""

    id: str
    streams: int = 0  # synthesis streams open for the owner
    expected: bool = False  # prepared for, waiting for a stream to open
    expires_at: float = 0.0  # when an expected stream no longer is
    digests: set[str] = field(default_factory=set)
    dropped: bool = False


_Entry = tuple[bytes, int]  # PCM16, sample rate


class PhraseCache:
    def __init__(
        self,
        folder: Path | None,
        *,
        generic: Iterable[str],
        max_bytes: int,
        memory_bytes: int = MEMORY_BYTES,
        unclaimed_s: float = UNCLAIMED_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``folder``: the disk tier (None, or ``max_bytes`` 0: memory only). ``generic``:
        the texts that may go to disk; anything else is private."""
        self.folder = folder if max_bytes > 0 else None
        self.max_bytes = max_bytes
        self.memory_bytes = memory_bytes
        self.unclaimed_s = unclaimed_s
        self.generic = frozenset(s for text in generic for s in segments(text))
        self.hits = 0
        self.misses = 0
        self._clock = clock
        self._memory: OrderedDict[tuple[PhraseOwner | None, str], _Entry] = OrderedDict()
        self._memory_size = 0
        self._owners: dict[str, PhraseOwner] = {}
        self._disk_size: int | None = None  # counted on first write
        self._lock = threading.Lock()

    def is_generic(self, key: PhraseKey) -> bool:
        return key.text in self.generic

    def path(self, key: PhraseKey) -> Path | None:
        """Where ``key`` is (or would be) on disk; None for a private sentence."""
        if self.folder is None or not self.is_generic(key):
            return None
        digest = key.digest
        return self.folder / digest[:2] / f"{digest}.pcm"

    # Owners -----------------------------------------------------------------------------

    def expect(self, owner_id: str) -> PhraseOwner:
        """The owner whose sentences are being prepared before a stream of theirs opens;
        they are dropped ``unclaimed_s`` from now unless one does."""
        with self._lock:
            self._sweep()
            owner = self._owner(owner_id)
            owner.expected = True
            owner.expires_at = self._clock() + self.unclaimed_s
            return owner

    def hold(self, owner_id: str) -> PhraseOwner:
        """A synthesis stream of ``owner_id`` opens: its sentences stay while it is open."""
        with self._lock:
            self._sweep()
            owner = self._owner(owner_id)
            owner.streams += 1
            owner.expected = False
            return owner

    def release(self, owner: PhraseOwner) -> None:
        """A stream of ``owner`` closed. The last one drops the owner's sentences, unless
        a newer connection is expected (it prepared while this one was open)."""
        with self._lock:
            owner.streams = max(0, owner.streams - 1)
            if owner.streams == 0 and not owner.expected:
                self._drop(owner)
            self._sweep()

    def forget(self, owner_id: str) -> None:
        """Drop every sentence of ``owner_id`` now (its interview was deleted)."""
        with self._lock:
            owner = self._owners.get(owner_id)
            if owner is not None:
                self._drop(owner)

    def private_bytes(self) -> int:
        """Bytes of private audio in memory (for tests and operators)."""
        with self._lock:
            self._sweep()
            return sum(len(e[0]) for (o, _), e in self._memory.items() if o is not None)

    # Entries ----------------------------------------------------------------------------

    def keeps(self, key: PhraseKey, owner: PhraseOwner | None = None) -> bool:
        """Whether ``put`` would keep ``key``: a generic sentence always, a private one
        only for an owner whose sentences are still wanted."""
        return self.is_generic(key) or (owner is not None and not owner.dropped)

    def get(
        self, key: PhraseKey, owner: PhraseOwner | None = None, *, count: bool = True
    ) -> _Entry | None:
        """The PCM16 audio and its sample rate, or None. Safe from any thread."""
        generic = self.is_generic(key)
        digest = key.digest
        with self._lock:
            found = self._memory.get((None if generic else owner, digest))
            if found is not None:
                self._memory.move_to_end((None if generic else owner, digest))
            if found is not None or not generic:
                self._count(count, found is not None)
                return found
        found = self._read(key)
        with self._lock:
            self._count(count, found is not None)
            if found is not None:
                self._remember(None, digest, found)
        return found

    def contains(self, key: PhraseKey, owner: PhraseOwner | None = None) -> bool:
        generic = self.is_generic(key)
        with self._lock:
            if (None if generic else owner, key.digest) in self._memory:
                return True
        path = self.path(key)
        return path is not None and path.is_file()

    def put(
        self, key: PhraseKey, pcm: bytes, sample_rate: int, owner: PhraseOwner | None = None
    ) -> None:
        """Keep an entry: a generic one in memory and on disk, a private one in its
        owner's memory (or nowhere, without an owner). Disk trouble is logged, never
        raised (the cache is optional)."""
        digest = key.digest
        with self._lock:
            if not self.is_generic(key):
                if owner is not None and not owner.dropped:
                    self._remember(owner, digest, (pcm, sample_rate))
                return
            self._remember(None, digest, (pcm, sample_rate))
        target = self.path(key)
        if target is None:
            return
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

    # Memory (call with the lock held) --------------------------------------------------

    def _owner(self, owner_id: str) -> PhraseOwner:
        owner = self._owners.get(owner_id)
        if owner is None:
            owner = self._owners[owner_id] = PhraseOwner(owner_id)
        return owner

    def _drop(self, owner: PhraseOwner) -> None:
        owner.dropped = True
        for digest in owner.digests:
            entry = self._memory.pop((owner, digest), None)
            if entry is not None:
                self._memory_size -= len(entry[0])
        owner.digests.clear()
        if self._owners.get(owner.id) is owner:
            del self._owners[owner.id]

    def _sweep(self) -> None:
        now = self._clock()
        for owner in list(self._owners.values()):
            if owner.streams == 0 and owner.expires_at <= now:
                self._drop(owner)

    def _count(self, count: bool, hit: bool) -> None:
        if count:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def _remember(self, owner: PhraseOwner | None, digest: str, entry: _Entry) -> None:
        slot = (owner, digest)
        if slot in self._memory:
            self._memory.move_to_end(slot)
            return
        self._memory[slot] = entry
        self._memory_size += len(entry[0])
        if owner is not None:
            owner.digests.add(digest)
        while self._memory_size > self.memory_bytes and len(self._memory) > 1:
            (old_owner, old_digest), (old, _) = self._memory.popitem(last=False)
            self._memory_size -= len(old)
            if old_owner is not None:
                old_owner.digests.discard(old_digest)

    # Disk -------------------------------------------------------------------------------

    def _read(self, key: PhraseKey) -> _Entry | None:
        path = self.path(key)
        if path is None:
            return None
        try:
            return read_entry(path)
        except ValueError:
            log.warning("phrase cache entry is damaged; ignoring it")
            path.unlink(missing_ok=True)
            return None
        except OSError:
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
        if self.folder is None or not self.folder.is_dir():
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


def read_entry(path: Path) -> _Entry:
    """The audio of a disk entry and its sample rate. ``OSError``: unreadable;
    ``ValueError``: not a whole entry of this format."""
    data = path.read_bytes()
    if len(data) >= _HEADER.size:
        magic, rate, length, crc = _HEADER.unpack_from(data)
        pcm = data[_HEADER.size :]
        if magic == _MAGIC and length == len(pcm) and zlib.crc32(pcm) == crc and rate > 0:
            return pcm, rate
    raise ValueError(f"not a phrase cache entry: {path.name}")


def remove_outdated(cache_root: Path) -> list[Path]:
    """Delete the phrase folders of older formats under ``cache_root`` (DATA_DIR/cache):
    they may hold personal audio. Safe when several processes start at once: a folder is
    first renamed away (only one process wins), then deleted. Returns what was removed."""
    removed: list[Path] = []
    if not cache_root.is_dir():
        return removed
    for name in _OUTDATED:
        old = cache_root / name
        if not old.exists():
            continue
        doomed = cache_root / f".{name}.removing.{os.getpid()}.{threading.get_ident()}"
        try:
            old.rename(doomed)
        except OSError:
            continue  # gone already, or another process is removing it
        removed.append(old)
    # Also what a process that stopped half-way through a removal left behind.
    for doomed in cache_root.glob(".*.removing.*"):
        shutil.rmtree(doomed, ignore_errors=True)
    if removed:
        log.info(
            "removed phrase cache folders of an older format (they could hold personal audio)",
            extra={"folders": [str(path) for path in removed]},
        )
    return removed
