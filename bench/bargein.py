"""Barge-in, as the candidate hears it: ``python -m bench.latency --barge-in``.

One candidate speaks over the interviewer, again and again, through ``intrvuer serve``
with the fake LLM and the fake Deepgram voice, and the local recognizer or Deepgram
nova-3 against the same fake. Each trial waits for an interviewer turn's audio, lets it
play a while, then says either a backchannel ("Okay.", "Mm-hmm.") or a real
interruption ("Sorry, could you say that again?"), spoken by espeak-ng, in real time.

Measured on the client's clock, from the first voiced frame it sent:

- ``stop_ms``: until the interviewer's audio stopped for it (``agent_audio_pause``; the
  client stops its queued audio on receipt), else until ``agent_turn_end`` said
  ``interrupted`` (what stopped it before pauses existed);
- ``words_stop_ms``: until ``agent_turn_end {interrupted: true}`` (interruptions): the
  moment the first real words stop the turn, the baseline of the same run;
- for backchannels, whether the interviewer played on (``agent_audio_resume``, then an
  uninterrupted end) and how long it stood paused.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from bench.accounts import create_accounts, ticket_url
from bench.audio import SpokenAnswer, spoken_answers
from bench.live_socket import Listener, Microphone, live_session
from bench.processes import RESULTS, code_version, server_env, server_process
from bench.turns_replay import percentile
from tests.fakes.deepgram import Utterance

BACKCHANNELS = ("Okay.", "Mm-hmm.", "Right.", "Yeah.")
INTERRUPTIONS = (
    "Sorry, could you say that again?",
    "Wait, can I ask something first?",
    "Sorry, I did not catch the last part.",
)
ANSWER = (
    "I led the migration of our billing service to a new database, "
    "and it reduced checkout errors by forty percent within two months."
)
REPLY = (
    "Thank you, that is helpful to hear. Next, tell me about a time you had to make "
    "a hard trade-off between speed and quality, and what you decided."
)
QUESTIONS = 12
TURN_TIMEOUT_S = 30.0
Kind = Literal["backchannel", "interruption"]


@dataclass
class Trial:
    kind: Kind
    said: str
    recognizer: str
    over_audio_s: float  # how long the interviewer had been heard when the speech began
    stop_ms: float | None = None
    words_stop_ms: float | None = None
    paused: bool = False
    resumed: bool = False
    paused_ms: float | None = None  # pause → resume
    interrupted: bool = False
    audio_after_stop: int = 0  # interviewer frames that still arrived after the stop


async def _interview(
    url: str,
    plan: list[tuple[Kind, SpokenAnswer]],
    answer: SpokenAnswer,
    fake: Any,
    recognizer: str,
    trials: list[Trial],
) -> int:
    """Trials over one interview's turns until the plan or the interview runs out."""
    done = 0
    async with live_session(url) as (listener, microphone):
        for kind, clip in plan:
            turns = listener.count("agent_turn_start")
            frames = len(listener.frames)

            # The interviewer speaks: its first audio, then a while into it.
            def speaking(turns: int = turns, frames: int = frames) -> bool:
                ended = bool(listener.count("interview_end"))
                started = listener.count("agent_turn_start") >= max(turns, 1)
                return ended or (started and len(listener.frames) > frames)

            await listener.until(speaking, TURN_TIMEOUT_S)
            if listener.count("interview_end") or listener.closed:
                break
            first_audio = listener.frames[frames]
            await asyncio.sleep(0.4 + 0.2 * (done % 4))
            if listener.candidate_has_floor():  # the turn was too short to speak over
                await _answer(listener, microphone, answer, fake)
                continue
            trials.append(
                await _trial(listener, microphone, kind, clip, fake, recognizer, first_audio)
            )
            done += 1
            await listener.until(
                lambda: listener.candidate_has_floor() or bool(listener.count("interview_end")),
                TURN_TIMEOUT_S,
            )
            if kind == "backchannel" and not listener.count("interview_end"):
                await _answer(listener, microphone, answer, fake)
    return done


async def _answer(
    listener: Listener, microphone: Microphone, answer: SpokenAnswer, fake: Any
) -> None:
    """A whole answer, so the interviewer moves on to its next turn."""
    ends = listener.count("user_turn_end")
    fake.transcripts.clear()
    fake.script(Utterance(answer.text, answer.seconds))
    microphone.say(answer)
    await microphone.done.wait()
    await listener.until(lambda: listener.count("user_turn_end") > ends, TURN_TIMEOUT_S)


async def _trial(
    listener: Listener,
    microphone: Microphone,
    kind: Kind,
    clip: SpokenAnswer,
    fake: Any,
    recognizer: str,
    first_audio: float,
) -> Trial:
    fake.transcripts.clear()
    # With its length: a short endpointing splits a clip at its pauses, and each piece
    # must hold the clip's own words, not the next script entry's.
    fake.script(Utterance(clip.text, clip.seconds))
    microphone.say(clip)
    await microphone.done.wait()
    began = microphone.started_at or time.monotonic()
    trial = Trial(kind, clip.text, recognizer, over_audio_s=round(began - first_audio, 3))

    def settled() -> bool:
        end = listener.first("agent_turn_end", began)
        return end is not None or bool(listener.count("interview_end"))

    await listener.until(settled, TURN_TIMEOUT_S)
    pause = listener.first("agent_audio_pause", began)
    resume = listener.first("agent_audio_resume", began)
    end = listener.first("agent_turn_end", began)
    if end is not None:
        trial.interrupted = bool(end[1].get("interrupted"))
        if trial.interrupted:
            trial.words_stop_ms = round((end[0] - began) * 1000, 1)
    stopped_at = pause[0] if pause is not None else (end[0] if trial.interrupted and end else None)
    if stopped_at is not None:
        trial.stop_ms = round((stopped_at - began) * 1000, 1)
        until = resume[0] if resume is not None else (end[0] if end else stopped_at)
        # Frames in flight when the pause was sent arrive just after it; more is a leak.
        trial.audio_after_stop = sum(1 for at in listener.frames if stopped_at < at < until)
    trial.paused = pause is not None
    if pause is not None and resume is not None:
        trial.resumed = not trial.interrupted
        trial.paused_ms = round((resume[0] - pause[0]) * 1000, 1)
    return trial


async def run_recognizer(recognizer: str, count: int, confirm_s: float) -> list[Trial]:
    from bench.fakes import server_settings
    from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
    from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai

    cache = RESULTS / "audio-cache"
    clips = {text: clip for text, clip in zip(
        (*BACKCHANNELS, *INTERRUPTIONS, ANSWER),
        spoken_answers((*BACKCHANNELS, *INTERRUPTIONS, ANSWER), cache),
        strict=True,
    )}  # fmt: skip
    plan: list[tuple[Kind, SpokenAnswer]] = []
    for index in range(count):
        if index % 2 == 0:
            plan.append(("backchannel", clips[BACKCHANNELS[(index // 2) % len(BACKCHANNELS)]]))
        else:
            plan.append(("interruption", clips[INTERRUPTIONS[(index // 2) % len(INTERRUPTIONS)]]))
    deepgram = FakeDeepgram(speak_ms_per_char=60.0)
    openai = FakeOpenAI(responder=lambda messages: REPLY)
    trials: list[Trial] = []
    async with run_fake_deepgram(deepgram), run_fake_openai(openai):
        settings = {
            **server_settings(deepgram, openai, recognizer),
            "BARGE_IN_CONFIRM_S": str(confirm_s),
        }
        with tempfile.TemporaryDirectory(prefix="intrvuer-bargein-") as scratch:
            async with (
                server_process(Path(scratch), server_env(settings)) as server,
                httpx.AsyncClient(base_url=server.url, timeout=60) as http,
            ):
                accounts = await create_accounts(http, count // 4 + 3, QUESTIONS)
                remaining = plan
                for account in accounts:
                    if not remaining:
                        break
                    print(f"barge-in {recognizer}: {len(trials)}/{count} ...", file=sys.stderr)
                    url = await ticket_url(http, server, account)
                    done = await _interview(
                        url, remaining, clips[ANSWER], deepgram, recognizer, trials
                    )
                    remaining = remaining[done:]
    return trials


def summarize(trials: Sequence[Trial]) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float | None]:
        return {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "max": max(values) if values else None,
        }

    backchannels = [t for t in trials if t.kind == "backchannel"]
    interruptions = [t for t in trials if t.kind == "interruption"]
    return {
        "trials": len(trials),
        "stop_ms": stats([t.stop_ms for t in trials if t.stop_ms is not None]),
        "never_stopped": sum(1 for t in trials if t.stop_ms is None),
        "words_stop_ms": stats(
            [t.words_stop_ms for t in interruptions if t.words_stop_ms is not None]
        ),
        "interruptions": len(interruptions),
        "interruptions_ended": sum(1 for t in interruptions if t.interrupted),
        "backchannels": len(backchannels),
        "backchannels_resumed": sum(1 for t in backchannels if t.resumed),
        "backchannels_resumed_pct": round(
            100 * sum(1 for t in backchannels if t.resumed) / max(len(backchannels), 1), 1
        ),
        "backchannels_cut_off": sum(1 for t in backchannels if t.interrupted),
        "paused_ms": stats([t.paused_ms for t in backchannels if t.paused_ms is not None]),
        "audio_frames_after_stop_max": max((t.audio_after_stop for t in trials), default=0),
    }


async def benchmark(recognizers: Sequence[str], count: int, confirm_s: float) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "barge-in",
        "code": code_version(),
        "confirm_s": confirm_s,
        "recognizers": {},
    }
    for name in recognizers:  # one at a time: the local recognizer needs both cores
        trials = await run_recognizer(name, count, confirm_s)
        result["recognizers"][name] = {
            **summarize(trials),
            "per_trial": [asdict(t) for t in trials],
        }
    return result


def render(result: dict[str, Any]) -> str:
    lines = [
        f"barge-in, BARGE_IN_CONFIRM_S={result['confirm_s']}",
        "| recognizer | trials | audio stops p50 / p95 / max (ms) | first words stop it "
        "p50 / p95 (ms) | backchannels resumed | paused p50 (ms) | interruptions ended |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result["recognizers"].items():
        stop, words, paused = r["stop_ms"], r["words_stop_ms"], r["paused_ms"]
        lines.append(
            f"| {name} | {r['trials']} | {_ms(stop['p50'])} / {_ms(stop['p95'])} / "
            f"{_ms(stop['max'])} | {_ms(words['p50'])} / {_ms(words['p95'])} | "
            f"{r['backchannels_resumed']}/{r['backchannels']} ({r['backchannels_resumed_pct']} %) "
            f"| {_ms(paused['p50'])} | {r['interruptions_ended']}/{r['interruptions']} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def main(recognizers: Sequence[str], count: int, confirm_s: float, out: Path) -> int:
    result = asyncio.run(benchmark(recognizers, count, confirm_s))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    print(f"\nJSON: {out}")
    return 0
