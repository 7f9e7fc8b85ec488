"""The turn benchmark's answers spoken live into ``intrvuer serve``, to validate the replay.

The server runs the policy it runs by default (its patience settings set to the chosen
values), with the fake LLM and the fake Deepgram voice, and either the local recognizer
or Deepgram nova-3 against the same fake (scripted with each answer's pieces). One
microphone sends a 20 ms frame every 20 ms, silence between answers. When the
server's first ``user_turn_end`` after an answer began comes before the answer's true
end, the interviewer cut the candidate off; after it, the difference is the silence it
added. The same answers are replayed from their recordings with the question the
server actually asked, and both results are reported side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench.accounts import create_accounts, ticket_url
from bench.live_socket import Listener, live_session
from bench.processes import server_env, server_process
from bench.turns_answers import SpokenTurnAnswer
from bench.turns_record import Recording
from bench.turns_replay import Outcome, percentile, policy, replay
from pipeline.turns import TurnPolicy

if TYPE_CHECKING:
    from bench.turns import Options

QUESTIONS = 12  # a mixed interview's largest plan
REPLY = "Thank you. Next, tell me about a time you had to make a hard trade-off."
SETTLE_TIMEOUT_S = 30.0


def _last_question(listener: Listener) -> str:
    for _, event in reversed(listener.events):
        if event.get("type") == "agent_turn_end" and event.get("text"):
            return str(event["text"])
    return ""


@dataclass(frozen=True)
class LiveAnswer:
    spoken: SpokenTurnAnswer
    question: str
    outcome: Outcome


@dataclass
class LiveRun:
    answers: list[LiveAnswer] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)  # each reply's


async def _interview(
    url: str, answers: Sequence[SpokenTurnAnswer], script: Any, run: LiveRun
) -> int:
    """Answers said in one interview until they run out or the interview ends; how many."""
    said: list[LiveAnswer] = []
    async with live_session(url) as (listener, microphone):
        await listener.until(listener.candidate_has_floor, SETTLE_TIMEOUT_S)
        for spoken in answers:
            if listener.count("interview_end") or listener.closed:
                break
            question = _last_question(listener)
            script(spoken)
            before = len(listener.events)
            microphone.say(spoken)
            await microphone.done.wait()
            began = microphone.started_at or time.monotonic()
            ends = [
                at - began
                for at, event in listener.events[before:]
                if event.get("type") == "user_turn_end" and at >= began
            ]
            decided = ends[0] if ends else None
            said.append(LiveAnswer(spoken, question, Outcome(decided, spoken.true_end_s)))
            with contextlib.suppress(TimeoutError):
                await listener.until(
                    lambda: listener.candidate_has_floor() or bool(listener.count("interview_end")),
                    SETTLE_TIMEOUT_S,
                )
    run.answers.extend(said)
    run.metrics.extend(
        dict(event["metrics"]) for _, event in listener.events if event.get("type") == "metrics"
    )
    return len(said)


async def live_run(
    recognizer: str,
    answers: Sequence[SpokenTurnAnswer],
    chosen: TurnPolicy,
    options: Options,
) -> LiveRun:
    from bench.fakes import server_settings
    from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
    from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai

    deepgram = FakeDeepgram(
        final_latency_ms=options.stt_final_latency_ms,
        speak_first_byte_ms=options.tts_first_byte_ms,
        speak_ms_per_char=15.0,
    )
    openai = FakeOpenAI(responder=lambda messages: REPLY, first_token_ms=options.llm_first_token_ms)

    def script(spoken: SpokenTurnAnswer) -> None:
        deepgram.transcripts.clear()
        deepgram.script(*spoken.utterances())

    async with run_fake_deepgram(deepgram), run_fake_openai(openai):
        settings = {
            **server_settings(deepgram, openai, "local" if recognizer == "local" else "deepgram"),
            "DEEPGRAM_FLUX": str(recognizer == "flux").lower(),
            "INTERVIEW_PATIENCE_S": str(chosen.patience_s),
            "INTERVIEW_UNFINISHED_PATIENCE_S": str(chosen.unfinished_patience_s),
            "DEEPGRAM_ENDPOINTING_MS": str(options.endpointing_ms),
            "VAD_PAUSE_MS": str(options.vad_pause_ms),
            "VAD_END_SILENCE_MS": str(options.vad_end_silence_ms),
        }
        if options.speculation_lead_s is not None:
            settings["INTERVIEW_SPECULATION_LEAD_S"] = str(options.speculation_lead_s)
        with tempfile.TemporaryDirectory(prefix="intrvuer-turns-live-") as scratch:
            async with (
                server_process(Path(scratch), server_env(settings)) as server,
                httpx.AsyncClient(base_url=server.url, timeout=60) as http,
            ):
                run = LiveRun()
                remaining = list(answers)
                # Every answer takes a question, a cut-off one more: enough interviews.
                accounts = await create_accounts(http, len(answers) // 6 + 2, QUESTIONS)
                for account in accounts:
                    if not remaining:
                        break
                    print(
                        f"live {recognizer}: {len(run.answers)}/{len(answers)} answers ...",
                        file=sys.stderr,
                    )
                    url = await ticket_url(http, server, account)
                    said = await _interview(url, remaining, script, run)
                    remaining = remaining[said:]
                return run


async def measure_live(
    options: Options,
    answers: Sequence[SpokenTurnAnswer],
    chosen: TurnPolicy,
    recordings: dict[str, list[Recording]],
) -> dict[str, Any]:
    # Both servers at once: the whole pass takes as long as one.
    async with asyncio.TaskGroup() as group:
        runs = {
            name: group.create_task(live_run(name, answers, chosen, options))
            for name in options.recognizers
        }
    measured: dict[str, Any] = {}
    for name, task in runs.items():
        live_run_result = task.result()
        live = live_run_result.answers
        by_key = {r.answer.answer.key: r for r in recordings.get(name, [])}
        replayed = [
            replay(
                by_key[a.spoken.answer.key].events, policy(chosen), a.question, a.spoken.true_end_s
            )
            for a in live
            if a.spoken.answer.key in by_key
        ]
        outcomes = [a.outcome for a in live]
        added = [o.added_s * 1000 for o in outcomes if o.added_s is not None]
        replay_added = [o.added_s * 1000 for o in replayed if o.added_s is not None]
        differences = [
            (a.outcome.decided_at_s - r.decided_at_s) * 1000
            for a, r in zip(live, replayed, strict=False)
            if a.outcome.decided_at_s is not None and r.decided_at_s is not None
        ]
        measured[name] = {
            "answers": len(outcomes),
            "cut_offs": sum(1 for o in outcomes if o.cut_off),
            "cut_off_pct": round(
                100 * sum(1 for o in outcomes if o.cut_off) / max(len(outcomes), 1), 1
            ),
            "undecided": sum(1 for o in outcomes if o.decided_at_s is None),
            "added_ms_p50": _rounded(percentile(added, 50)),
            "added_ms_p95": _rounded(percentile(added, 95)),
            "replay_cut_offs": sum(1 for o in replayed if o.cut_off),
            "replay_added_ms_p50": _rounded(percentile(replay_added, 50)),
            "replay_added_ms_p95": _rounded(percentile(replay_added, 95)),
            "live_minus_replay_ms_p50": _rounded(percentile(differences, 50)),
            "speculative": speculative_summary(live_run_result.metrics),
            "per_answer": [
                {
                    "answer": a.spoken.answer.number,
                    "question": a.question,
                    "true_end_s": round(a.spoken.true_end_s, 3),
                    "live_decided_s": _rounded(a.outcome.decided_at_s, 3),
                    "replay_decided_s": _rounded(r.decided_at_s, 3),
                }
                for a, r in zip(live, replayed, strict=False)
            ],
        }
    return measured


def _rounded(value: float | None, digits: int = 0) -> float | None:
    return None if value is None else round(value, digits)


def speculative_summary(metrics: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Of the replies to answers: how many were begun early, used, and how many early
    replies were thrown away (each one an LLM request cancelled)."""
    replies = [m for m in metrics if "speculative_started" in m]
    saved = [m["speculative_saved_ms"] for m in replies if "speculative_saved_ms" in m]
    discarded = sum(m["speculative_discarded"] for m in replies)
    return {
        "replies": len(replies),
        "used": sum(1 for m in replies if m.get("speculative_used")),
        "discarded_requests": int(discarded),
        "discarded_per_reply": round(discarded / len(replies), 2) if replies else None,
        "saved_ms_p50": _rounded(percentile(saved, 50)),
        "voice_to_voice_ms_p50": _rounded(
            percentile([m["voice_to_voice_ms"] for m in replies if "voice_to_voice_ms" in m], 50)
        ),
    }
