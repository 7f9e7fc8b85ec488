"""The turn-taking benchmark's answers: interview answers that pause to think, as speech.

Each answer is a list of pieces said one after another, with a known silence between
them (the candidate thinking) and a known true end. A pause comes after a complete
sentence, after a trailing word ("and", "so um", "because", "but"), or in the middle of
a clause ("dropped from four hundred … to thirty"). Some answers have no inner pause.
The set is deterministic (it depends only on how many answers are asked for); the audio
is made with espeak-ng in several voices and speeds and cached as WAV files, never kept
in the repository.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from bench.audio import (
    FRAME_BYTES,
    SAMPLE_RATE,
    check_tools,
    read_wav,
    synthesize,
    tighten,
    write_wav,
)
from tests.fakes.deepgram import Utterance

PauseKind = Literal["sentence", "trailing", "mid_clause"]
PAUSES_S: Final = (0.5, 0.8, 1.1, 1.5, 2.0, 2.5, 3.0)
VOICES: Final = ("en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-029", "en-us+m3")
SPEEDS_WPM: Final = (140, 165, 190)
LEAD_S: Final = 0.4  # silence before the first word
TAIL_S: Final = 4.0  # silence after the last word: every policy decides within it
_CACHE_VERSION: Final = "1"


@dataclass(frozen=True)
class Story:
    """An answer to ``question`` as sentences; ``splits`` say where a pause may go."""

    question: str
    # Each unit is said whole; a pause may follow unit i when i is in ``splits``, of the
    # kind given there. Trailing units end on their trailing word.
    units: tuple[str, ...]
    splits: dict[int, PauseKind]


STORIES: Final = (
    Story(
        "Tell me about a time you improved the performance of a system.",
        (
            "Our checkout page was slow.",
            "So I profiled the service, and",
            "found that most of the time went into the database.",
            "The median response time dropped from four hundred",
            "to about ninety milliseconds after we added two indexes and a small cache.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "Describe a disagreement with a colleague and how you handled it.",
        (
            "A colleague and I disagreed about the design of an interface.",
            "I wanted a simple REST endpoint, but um",
            "he preferred a message queue.",
            "We ran a short design review with",
            "the two teams that would use it, and we chose the queue with a clear contract.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "Tell me about a project where the requirements changed late.",
        (
            "Two weeks before launch the client changed the payment provider.",
            "We had to decide quickly, so um",
            "I split the work into three parts.",
            "The hardest part was the",
            "migration of the stored cards, which we finished over one weekend.",
            "We launched only four days late.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause", 4: "sentence"},
    ),
    Story(
        "How do you make sure your code is well tested?",
        (
            "I write tests for the behaviour first.",
            "Every change gets a unit test, and",
            "anything that talks to a database gets an integration test against the real one.",
            "Our coverage went from sixty",
            "to ninety percent in a year, and the number of incidents fell by half.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "Tell me about a mistake you made and what you learned.",
        (
            "I once deployed a change on a Friday evening.",
            "It broke the nightly export because",
            "a date format had changed.",
            "I was responsible for",
            "the fix, so I rolled back, wrote a test for the format, and now I never ship late on Fridays.",  # noqa: E501
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "Why do you want to work in this team?",
        (
            "I like building products that people use every day.",
            "Your team works on the payments platform, and",
            "that is exactly the kind of system I enjoy.",
            "I also want to work with",
            "engineers who care about reliability as much as I do.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "Describe how you would design a rate limiter.",
        (
            "I would start with a token bucket per client.",
            "The buckets would live in Redis, because",
            "every server needs to see the same counts.",
            "Each request takes one token from",
            "the bucket, and a small script refills it atomically.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "Tell me about a time you mentored someone.",
        (
            "I mentored two junior engineers through their first on-call rotation.",
            "We paired on every incident, so um",
            "they saw how I read the logs and the dashboards.",
            "After three months both of",
            "them were leading incident reviews on their own.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "What was the hardest bug you have fixed?",
        (
            "A customer reported that some orders disappeared.",
            "I traced it for two days, and then um",
            "found a race condition in our cache.",
            "Two workers could write the",
            "same key at once, so I added a version check and a test that reproduced it.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
    Story(
        "How do you prioritise when everything is urgent?",
        (
            "I ask what each task costs us if it waits a week.",
            "Then I talk to my manager, because",
            "the trade-offs are often a business decision.",
            "Last quarter we dropped from twelve",
            "open projects to five, and we finished all five on time.",
        ),
        {0: "sentence", 1: "trailing", 3: "mid_clause"},
    ),
)
# Answers that end without an inner pause, some short (to questions that want little).
FINISHED: Final = (
    (
        "Have you worked with Kubernetes before?",
        "Yes, for about three years, mostly on managed clusters.",
    ),
    (
        "Tell me about your current role.",
        "I am a backend engineer on a payments team of six people. I own the service that "
        "settles card transactions, and I lead our on-call rotation.",
    ),
    (
        "Are you comfortable working with Python?",
        "Yes, Python has been my main language for five years.",
    ),
    (
        "Tell me about a time you had to learn something quickly.",
        "When our search engine was retired, I had one month to learn Elasticsearch. I "
        "read the documentation, built a prototype in a week, and we migrated without "
        "downtime.",
    ),
)


@dataclass(frozen=True)
class Piece:
    text: str
    pause_after_s: float  # silence after it (0 for the last piece)
    kind: PauseKind | None  # what kind of pause follows it


@dataclass(frozen=True)
class TurnAnswer:
    """One benchmark answer: what is said, how, and where its pauses and end are."""

    number: int
    question: str
    pieces: tuple[Piece, ...]
    voice: str
    speed_wpm: int

    @property
    def text(self) -> str:
        return " ".join(piece.text for piece in self.pieces)

    @property
    def pause_kinds(self) -> tuple[PauseKind, ...]:
        return tuple(piece.kind for piece in self.pieces if piece.kind is not None)

    @property
    def key(self) -> str:
        spec = f"{_CACHE_VERSION}|{self.voice}|{self.speed_wpm}|" + "|".join(
            f"{piece.text}@{piece.pause_after_s}" for piece in self.pieces
        )
        return hashlib.sha256(spec.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SpokenTurnAnswer:
    answer: TurnAnswer
    pcm: bytes  # PCM16 LE mono at SAMPLE_RATE: lead silence, speech and pauses, tail silence
    true_end_s: float  # audio time of the end of the last word
    piece_ends_s: tuple[float, ...]  # audio time of the end of each piece

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE

    def frames(self) -> list[bytes]:
        return [self.pcm[i : i + FRAME_BYTES] for i in range(0, len(self.pcm), FRAME_BYTES)]

    def utterances(self) -> tuple[Utterance, ...]:
        """The pieces as the fake Deepgram is scripted with them: each one's words and how
        long it is spoken (its first voiced frame to its last), so that an endpointing
        shorter than the pauses inside a piece finalizes its words as they are heard."""
        pieces = self.answer.pieces
        starts = [LEAD_S] + [
            end + piece.pause_after_s
            for end, piece in zip(self.piece_ends_s[:-1], pieces[:-1], strict=True)
        ]
        return tuple(
            Utterance(piece.text, round(end - start, 3))
            for piece, start, end in zip(pieces, starts, self.piece_ends_s, strict=True)
        )


def make_answers(count: int) -> list[TurnAnswer]:
    """``count`` answers: about one in five without an inner pause, the rest with one or
    two pauses of each kind and length, in turn."""
    answers: list[TurnAnswer] = []
    paused = finished = 0
    for number in range(1, count + 1):
        voice = VOICES[number % len(VOICES)]
        speed = SPEEDS_WPM[(number // len(VOICES)) % len(SPEEDS_WPM)]
        if number % 5 == 0:
            question, text = FINISHED[finished % len(FINISHED)]
            finished += 1
            pieces: tuple[Piece, ...] = (Piece(text, 0.0, None),)
        else:
            story = STORIES[paused % len(STORIES)]
            pieces = _split(story, paused)
            question = story.question
            paused += 1
        answers.append(TurnAnswer(number, question, pieces, voice, speed))
    return answers


def _split(story: Story, index: int) -> tuple[Piece, ...]:
    """The story with pauses at one or two of its split points, chosen by ``index``."""
    points = sorted(story.splits)
    first = points[index % len(points)]
    chosen = {first}
    if index % 3 == 2:  # every third paused answer pauses twice
        chosen.add(points[(index + 1) % len(points)])
    pieces: list[Piece] = []
    current: list[str] = []
    for unit_index, unit in enumerate(story.units):
        current.append(unit)
        if unit_index in chosen and unit_index < len(story.units) - 1:
            pause = PAUSES_S[(index + unit_index) % len(PAUSES_S)]
            pieces.append(Piece(" ".join(current), pause, story.splits[unit_index]))
            current = []
    pieces.append(Piece(" ".join(current), 0.0, None))
    return tuple(pieces)


def speak(answers: Sequence[TurnAnswer], cache_dir: Path) -> list[SpokenTurnAnswer]:
    """Each answer as audio, made on first use and read from ``cache_dir`` after."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    return [_spoken(answer, cache_dir) for answer in answers]


def _spoken(answer: TurnAnswer, cache_dir: Path) -> SpokenTurnAnswer:
    silence = bytes(2)  # one sample
    lead = silence * round(LEAD_S * SAMPLE_RATE)
    pcm = bytearray(lead)
    ends: list[float] = []
    for position, piece in enumerate(answer.pieces):
        path = cache_dir / f"piece-{answer.key}-{position}.wav"
        if not path.exists():
            check_tools()
            write_wav(path, tighten(synthesize(piece.text, answer.voice, answer.speed_wpm)))
        pcm += read_wav(path)
        ends.append(len(pcm) / 2 / SAMPLE_RATE)
        pcm += silence * round(piece.pause_after_s * SAMPLE_RATE)
    pcm += silence * round(TAIL_S * SAMPLE_RATE)
    usable = len(pcm) - len(pcm) % FRAME_BYTES
    return SpokenTurnAnswer(answer, bytes(pcm[:usable]), ends[-1], tuple(ends))
