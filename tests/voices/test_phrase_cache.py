"""The phrase cache's policy: only declared generic sentences reach the disk; private ones
live in their owner's memory and go with the owner's last stream, on ``forget``, or when
a stream they were prepared for never opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from voices.phrase_cache import DISK_FOLDER, PhraseCache, PhraseKey, remove_outdated

PCM = b"\x01\x00" * 1000
GENERIC = ("Thank you. Let's begin.", "I'll ask you 5 questions; take your time with each.")


def key(text: str, voice: str = "v") -> PhraseKey:
    return PhraseKey("m", voice, 1.0, text)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_in(folder: Path, **options: object) -> PhraseCache:
    return PhraseCache(folder, generic=GENERIC, max_bytes=1 << 20, **options)  # type: ignore[arg-type]


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_generic_means_a_sentence_of_the_declared_texts_as_synthesis_cuts_them(
    tmp_path: Path,
) -> None:
    cache = cache_in(tmp_path)
    assert cache.is_generic(key("Thank you."))
    assert cache.is_generic(key("Let's begin."))
    # Normalised as speech is: the declared "5" is spoken, and cached, as "five".
    assert cache.is_generic(key("I'll ask you five questions; take your time with each."))
    # Anything else is private, however harmless it looks.
    assert not cache.is_generic(key("Thank you, Ada."))
    assert not cache.is_generic(key("Thank you. Let's begin."))  # two sentences: not a unit
    assert not cache.is_generic(key("Hello."))


def test_only_generic_sentences_are_written_to_disk(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    owner = cache.hold("interview-1")
    cache.put(key("Thank you."), PCM, 24000, owner)
    cache.put(key("Hi, Zebedee, thanks for joining."), PCM, 24000, owner)
    cache.put(key("The role asks for the Quarrington ledger."), PCM, 24000)  # no owner
    [written] = files_in(tmp_path)
    assert written == cache.path(key("Thank you."))
    assert cache.path(key("Hi, Zebedee, thanks for joining.")) is None
    # The private sentence is in its owner's memory; the one without an owner nowhere.
    assert cache.get(key("Hi, Zebedee, thanks for joining."), owner) == (PCM, 24000)
    assert cache.get(key("The role asks for the Quarrington ledger."), owner) is None
    assert cache.private_bytes() == len(PCM)
    # A generic sentence is shared: any stream finds it, with or without an owner.
    assert cache.get(key("Thank you.")) == (PCM, 24000)
    assert cache.get(key("Thank you."), cache.hold("interview-2")) == (PCM, 24000)


def test_a_private_sentence_is_found_by_its_owner_alone(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    mine, theirs = cache.hold("interview-1"), cache.hold("interview-2")
    greeting = key("Hi, Ada, thanks for joining.")
    cache.put(greeting, PCM, 24000, mine)
    assert cache.contains(greeting, mine)
    assert not cache.contains(greeting, theirs)
    assert cache.get(greeting, theirs) is None
    assert cache.get(greeting) is None
    assert cache.keeps(greeting, theirs) and not cache.keeps(greeting)


def test_private_sentences_go_when_the_owners_last_stream_closes(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    first, second = cache.hold("interview-1"), cache.hold("interview-1")
    assert first is second  # two streams of one interview (a takeover) share it
    question = key("In your time at Quarrington Analytics, what was hardest?")
    cache.put(question, PCM, 24000, first)
    cache.release(first)
    assert cache.get(question, second) == (PCM, 24000)
    cache.release(second)
    assert cache.private_bytes() == 0
    assert not cache.keeps(question, second)
    # Preparation that finishes after the session ended keeps nothing.
    cache.put(question, PCM, 24000, second)
    assert cache.private_bytes() == 0
    # A new session of the interview starts empty.
    assert cache.get(question, cache.hold("interview-1")) is None


def test_prepared_sentences_wait_for_their_stream_a_bounded_time(tmp_path: Path) -> None:
    clock = Clock()
    cache = cache_in(tmp_path, unclaimed_s=600.0, clock=clock)
    greeting = key("Hi, Ada, thanks for joining.")
    # Prepared at interview creation: kept for the session that opens soon after.
    early = cache.expect("interview-1")
    cache.put(greeting, PCM, 24000, early)
    clock.now += 599
    session = cache.hold("interview-1")
    assert session is early and cache.get(greeting, session) == (PCM, 24000)
    cache.release(session)
    assert cache.private_bytes() == 0
    # Prepared for a session that never opens: gone once the wait is over.
    never = cache.expect("interview-2")
    cache.put(greeting, PCM, 24000, never)
    clock.now += 601
    assert cache.private_bytes() == 0 and not cache.keeps(greeting, never)


def test_a_connection_taking_over_keeps_what_it_prepared(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    question = key("The role asks for the Quarrington ledger.")
    old = cache.hold("interview-1")
    cache.put(question, PCM, 24000, old)
    prepared = cache.expect("interview-1")  # the new connection prepares...
    cache.release(old)  # ...then the old one closes
    new = cache.hold("interview-1")
    assert new is prepared and cache.get(question, new) == (PCM, 24000)
    cache.release(new)
    assert cache.private_bytes() == 0


def test_forgetting_an_owner_drops_its_sentences_at_once(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    owner = cache.hold("interview-1")
    cache.put(key("Hi, Ada, thanks for joining."), PCM, 24000, owner)
    cache.put(key("Thank you."), PCM, 24000, owner)
    cache.forget("interview-1")
    assert cache.private_bytes() == 0
    assert cache.get(key("Thank you.")) == (PCM, 24000)  # generic: not the owner's
    cache.forget("no-such-interview")


def test_memory_is_one_bound_for_every_owner_and_the_disk_copies(tmp_path: Path) -> None:
    cache = cache_in(tmp_path, memory_bytes=5 * len(PCM))
    owners = [cache.hold(f"interview-{n}") for n in range(4)]
    for n, owner in enumerate(owners):
        cache.put(key(f"Private sentence {n}, one."), PCM, 24000, owner)
        cache.put(key(f"Private sentence {n}, two."), PCM, 24000, owner)
    assert cache.private_bytes() <= 5 * len(PCM)
    assert cache.get(key("Private sentence 0, one."), owners[0]) is None  # the oldest went
    assert cache.get(key("Private sentence 3, two."), owners[3]) == (PCM, 24000)
    for owner in owners:
        cache.release(owner)
    assert cache.private_bytes() == 0 and not cache._memory


def test_without_a_disk_tier_generic_sentences_stay_in_memory(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path, generic=GENERIC, max_bytes=0)  # PHRASE_CACHE_MB=0
    cache.put(key("Thank you."), PCM, 24000)
    assert cache.get(key("Thank you.")) == (PCM, 24000)
    assert files_in(tmp_path) == []


def test_damaged_entries_are_ignored(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path, generic=GENERIC, max_bytes=1 << 20, memory_bytes=0)
    cache.put(key("Thank you."), PCM, 24000)
    assert cache.get(key("Thank you.")) == (PCM, 24000)
    path = cache.path(key("Thank you."))
    assert path is not None
    path.write_bytes(path.read_bytes()[:-10])  # a torn write
    fresh = PhraseCache(tmp_path, generic=GENERIC, max_bytes=1 << 20, memory_bytes=0)
    assert fresh.get(key("Thank you.")) is None
    assert not path.exists()


def test_the_disk_tier_stays_bounded(tmp_path: Path) -> None:
    voices = [f"voice-{n}" for n in range(30)]  # 30 generic entries: one sentence, 30 voices
    cache = PhraseCache(tmp_path, generic=GENERIC, max_bytes=100_000, memory_bytes=0)
    for voice in voices:
        cache.put(key("Thank you.", voice), b"\0" * 10_000, 24000)
    assert sum(p.stat().st_size for p in tmp_path.glob("*/*.pcm")) <= 100_000
    assert cache.get(key("Thank you.", voices[-1])) is not None


@pytest.mark.parametrize("leftover", [False, True])
def test_folders_of_the_old_format_are_removed(tmp_path: Path, leftover: bool) -> None:
    """v1 kept every sentence on disk, so an upgrade would keep personal audio."""
    old = tmp_path / "phrases" / "ab"
    old.mkdir(parents=True)
    (old / "ab12.pcm").write_bytes(b"IVPC" + PCM)
    current = tmp_path / DISK_FOLDER / "cd"
    current.mkdir(parents=True)
    (current / "cd34.pcm").write_bytes(b"IVP2" + PCM)
    if leftover:  # a process stopped half-way through a removal
        (tmp_path / ".phrases.removing.1.2" / "ef").mkdir(parents=True)
    assert remove_outdated(tmp_path) == [tmp_path / "phrases"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [DISK_FOLDER]
    assert (current / "cd34.pcm").exists()
    assert remove_outdated(tmp_path) == []
    assert remove_outdated(tmp_path / "missing") == []
