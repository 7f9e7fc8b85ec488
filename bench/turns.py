"""Turn-taking benchmark: how often the interviewer cuts a thinking candidate off, and how
much silence it adds after a finished answer, in the manner of LiveKit's eot-bench.

    python -m bench.turns --quick          # 20 answers, a few minutes
    python -m bench.turns --answers 80     # the full set

1. ``--answers`` interview answers (``bench/turns_answers.py``) are spoken by espeak-ng in
   several voices and speeds, with known pauses (0.5–3 s, after a sentence, after a
   trailing word, mid-clause) and a known true end; about one in five has no pause.
2. Each is spoken in real time into the real recognizer adapters — the local one
   (Silero VAD + Whisper, default settings) and Deepgram nova-3 against the wire fake
   (``tests/fakes/deepgram.py``, which hears the pieces as scripted transcripts of known
   length, finalizes their words as they are heard at ``--endpointing-ms`` and delays each
   final by ``--stt-final-latency-ms``) — and what they say is recorded once
   (``bench/turns_record.py``, cached in ``bench/results/turns-cache``).
3. Every policy variant replays those recordings (``bench/turns_replay.py``): the old
   rule, silence-only waits, and ``pipeline.turns.TurnPolicy`` over a grid of its values.
4. The policy the server runs is also measured end to end through ``intrvuer serve``
   (``--e2e N`` answers per recognizer; ``bench/turns_live.py``), to validate the replay.

It reports false cut-offs (the turn was taken before the true end) and the silence
added after the true end (p50/p95) per variant and recognizer; JSON and a PNG of the
trade-off go to ``bench/results/``. ``--recognizers flux`` measures Deepgram Flux against
the same fake, whose end of turn (``tests/fakes/deepgram_flux.py``) is a fixed ramp of
silence, not a model of interview speech: its numbers describe the fake's Flux.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import report
from bench.processes import RESULTS, setting_default
from bench.turns_answers import SpokenTurnAnswer, make_answers, speak
from bench.turns_record import (
    Recording,
    local_recognizer,
    local_settings_key,
    record_all,
)
from bench.turns_replay import Outcome, Patience, Scored, fixed, legacy, policy, replay, score
from pipeline.turns import TurnPolicy

CACHE = RESULTS / "turns-cache"
# The policy the server runs by default, and the values the grid tries around it.
CHOSEN = TurnPolicy()  # what the server runs: INTERVIEW_PATIENCE_S and the rest as defaults
TARGET_CUT_OFF_PCT = 3.0
TARGET_ADDED_P50_MS = 450.0


@dataclass(frozen=True)
class Options:
    answers: int
    e2e: int
    recognizers: tuple[str, ...]
    stt_final_latency_ms: float
    llm_first_token_ms: float
    tts_first_byte_ms: float
    whisper_threads: int
    vad_pause_ms: int
    vad_end_silence_ms: int
    endpointing_ms: int
    out: Path
    plot: Path
    speculation_lead_s: float | None = None  # the server's default unless given


def variants() -> list[tuple[str, str, Patience]]:
    """(name, family, patience) of every policy replayed."""
    found: list[tuple[str, str, Patience]] = [("old 0.6/2.0", "baseline", legacy())]
    for seconds in (0.6, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5):
        found.append((f"silence {seconds:.1f}s", "silence only", fixed(seconds)))
    for patience in (0.6, 0.4, 0.3, 0.2):
        found.append((f"old rule {patience}/2.0", "old rule", legacy(patience, 2.0)))
        found.append((f"old rule {patience}/3.2", "old rule", legacy(patience, 3.2)))
    for patience in (0.2, 0.3, 0.35, 0.4, 0.5, 0.6):
        for unfinished in (2.5, 3.2):
            for share in (0.5, 1.0, 1.5, 2.0):
                turn = TurnPolicy(
                    patience_s=patience, unfinished_patience_s=unfinished, short_share=share
                )
                name = f"new {patience}/{unfinished} short×{share}"
                found.append((name, "new policy", policy(turn)))
    # Judging completeness on the words before a last word heard unsure or without sound
    # of its own (off: every last word counts).
    for confidence in (0.3, 0.4, 0.6, 0.7):
        turn = replace(CHOSEN, sure_confidence=confidence)
        found.append((f"unsure below {confidence}", "unsure last word", policy(turn)))
    off = replace(CHOSEN, sure_confidence=0.0, heard_word_s=0.0)
    found.append(("every last word counts", "unsure last word", policy(off)))
    found.append(("new (chosen)", "chosen", policy(CHOSEN)))
    return found


def cut_in_pause(spoken: SpokenTurnAnswer, outcome: Outcome) -> str | None:
    """The kind of pause the turn was taken in, when it was taken too early."""
    if not outcome.cut_off or outcome.decided_at_s is None:
        return None
    for end, piece in zip(spoken.piece_ends_s, spoken.answer.pieces, strict=True):
        if end <= outcome.decided_at_s <= end + piece.pause_after_s + 0.3:
            return piece.kind
    return None


def evaluate(recordings: Sequence[Recording]) -> list[Scored]:
    results = []
    for name, family, patience in variants():
        outcomes = [
            replay(r.events, patience, r.answer.answer.question, r.answer.true_end_s)
            for r in recordings
        ]
        kinds = [cut_in_pause(r.answer, o) for r, o in zip(recordings, outcomes, strict=True)]
        results.append(score(name, family, outcomes, kinds))
    return results


async def record(options: Options, spoken: list[SpokenTurnAnswer]) -> dict[str, list[Recording]]:
    async def local() -> list[Recording]:
        vad = {"pause_ms": options.vad_pause_ms, "end_ms": options.vad_end_silence_ms}
        recognizer = await local_recognizer(options.whisper_threads, CACHE / "data", **vad)
        return await record_all(
            "local", recognizer, spoken, CACHE, settings_key=local_settings_key(**vad)
        )

    async def deepgram(flux: bool) -> list[Recording]:
        from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
        from voices.deepgram_stt import DeepgramRecognizer, ListenOptions

        fake = FakeDeepgram(final_latency_ms=options.stt_final_latency_ms)
        async with run_fake_deepgram(fake):
            recognizer = DeepgramRecognizer(
                ListenOptions(
                    fake.api_key,
                    base_url=fake.url,
                    model="nova-3",
                    endpointing_ms=options.endpointing_ms,
                    flux=flux,
                )
            )

            def script(answer: SpokenTurnAnswer) -> None:
                fake.transcripts.clear()
                fake.script(*answer.utterances())

            latency = f"{options.stt_final_latency_ms:g}ms"
            key = f"flux-{latency}" if flux else f"nova3-{latency}-ep{options.endpointing_ms}"
            name = "flux" if flux else "deepgram"
            return await record_all(
                name, recognizer, spoken, CACHE, settings_key=key, before_each=script
            )

    jobs: dict[str, Callable[[], Coroutine[Any, Any, list[Recording]]]] = {
        "local": local,
        "deepgram": lambda: deepgram(flux=False),
        "flux": lambda: deepgram(flux=True),
    }
    async with asyncio.TaskGroup() as group:
        tasks = {name: group.create_task(jobs[name]()) for name in options.recognizers}
    return {name: task.result() for name, task in tasks.items()}


async def benchmark(options: Options) -> dict[str, Any]:
    created = report.now()
    answers = make_answers(options.answers)
    spoken = speak(answers, CACHE / "audio")
    recordings = await record(options, spoken)
    per_recognizer: dict[str, Any] = {}
    for name, recorded in recordings.items():
        scored = evaluate(recorded)
        per_recognizer[name] = {"variants": [asdict(s) for s in scored]}
    live: dict[str, Any] = {}
    if options.e2e:
        from bench.turns_live import measure_live

        live = await measure_live(options, spoken[: options.e2e], CHOSEN, recordings)
    return {
        **report.opening("turns", created),
        "settings": {
            "answers": options.answers,
            "paused_answers": sum(1 for a in answers if a.pause_kinds),
            "pauses": sum(len(a.pause_kinds) for a in answers),
            "stt_final_latency_ms": options.stt_final_latency_ms,
            "endpointing_ms": options.endpointing_ms,
            "llm_first_token_ms": options.llm_first_token_ms,
            "tts_first_byte_ms": options.tts_first_byte_ms,
            "chosen": asdict(CHOSEN),
        },
        "recognizers": per_recognizer,
        "live": live,
        "targets": {"cut_off_pct": TARGET_CUT_OFF_PCT, "added_ms_p50": TARGET_ADDED_P50_MS},
    }


def render(result: dict[str, Any], *, all_variants: bool = False) -> str:
    settings = result["settings"]
    lines = [
        f"turn-taking benchmark, {result['created']}: {settings['answers']} answers, "
        f"{settings['paused_answers']} with {settings['pauses']} pauses",
    ]
    for name, found in result["recognizers"].items():
        lines.append(f"{name}:")
        lines.append(f"  {'variant':<28} {'cut-offs':>9} {'added p50':>10} {'p95':>7}  by pause")
        for row in found["variants"]:
            if not all_variants and row["family"] == "new policy":
                continue
            lines.append(
                f"  {row['variant']:<28} {row['cut_offs']:>3} {row['cut_off_pct']:>4}% "
                f"{row['added_ms_p50']!s:>9}ms {row['added_ms_p95']!s:>6}ms  "
                f"{row['cut_offs_by_pause']}"
                + (f" undecided {row['undecided']}" if row["undecided"] else "")
            )
    for name, found in result.get("live", {}).items():
        lines.append(
            f"live through the server ({name}, {found['answers']} answers): cut-offs "
            f"{found['cut_offs']} ({found['cut_off_pct']}%), added p50 {found['added_ms_p50']} ms, "
            f"p95 {found['added_ms_p95']} ms; replay of the same answers: cut-offs "
            f"{found['replay_cut_offs']}, added p50 {found['replay_added_ms_p50']} ms; "
            f"decision time live − replay, median {found['live_minus_replay_ms_p50']} ms"
        )
        speculative = found.get("speculative")
        if speculative:
            lines.append(
                f"  speculative replies: {speculative['used']} of {speculative['replies']} "
                f"used, {speculative['discarded_requests']} LLM requests discarded, LLM time "
                f"saved p50 {speculative['saved_ms_p50']} ms"
            )
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> bool:
    plt = report.pyplot()
    if plt is None:
        return False
    names = list(result["recognizers"])
    figure, axes = plt.subplots(1, len(names), figsize=(7 * len(names), 5), squeeze=False)
    styles = {
        "silence only": ("-o", "grey"),
        "old rule": ("s", "tab:orange"),
        "new policy": (".", "tab:blue"),
        "unsure last word": ("d", "tab:green"),
        "baseline": ("X", "black"),
        "chosen": ("*", "tab:red"),
    }
    for axis, name in zip(axes[0], names, strict=True):
        rows = result["recognizers"][name]["variants"]
        for family, (marker, colour) in styles.items():
            points = [
                (r["added_ms_p50"], r["cut_off_pct"])
                for r in rows
                if r["family"] == family and r["added_ms_p50"] is not None
            ]
            if points:
                points.sort()
                axis.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    marker,
                    color=colour,
                    label=family,
                    markersize=12 if family in ("chosen", "baseline") else 6,
                )
        axis.axhline(TARGET_CUT_OFF_PCT, linestyle="--", color="grey")
        axis.axvline(TARGET_ADDED_P50_MS, linestyle="--", color="grey")
        axis.set(
            title=f"{name}: false cut-offs against added silence",
            xlabel="added silence after the true end, p50 (ms)",
            ylabel="false cut-offs (% of answers)",
        )
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=60, help="answers in the set")
    parser.add_argument("--quick", action="store_true", help="20 answers, 6 of them live")
    parser.add_argument(
        "--e2e", type=int, default=20, help="answers also measured live through the server"
    )
    parser.add_argument(
        "--recognizers",
        default="local,deepgram",
        help="local, deepgram (nova-3) and/or flux, comma-separated",
    )
    parser.add_argument("--stt-final-latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--llm-first-token-ms", type=float, default=300.0, help="the fake LLM's, live pass"
    )
    parser.add_argument(
        "--tts-first-byte-ms", type=float, default=150.0, help="the fake voice's, live pass"
    )
    parser.add_argument("--whisper-threads", type=int, default=2)
    # The server's settings the recordings are made with (the defaults: the server's).
    for flag, setting in (
        ("--endpointing-ms", "deepgram_endpointing_ms"),  # Deepgram's (the fake's)
        ("--vad-pause-ms", "vad_pause_ms"),  # the local recognizer's speculative pause
        ("--vad-end-silence-ms", "vad_end_silence_ms"),  # its end of an utterance
    ):
        parser.add_argument(flag, type=int, default=setting_default(setting), help=setting.upper())
    parser.add_argument(
        "--speculation-lead-s",
        type=float,
        help="INTERVIEW_SPECULATION_LEAD_S of the live pass (10: begin at the end of speech)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "turns.json")
    parser.add_argument("--plot", type=Path, default=RESULTS / "turns.png")
    args = parser.parse_args(argv)
    answers, e2e = (20, min(args.e2e, 6)) if args.quick else (args.answers, args.e2e)
    recognizers = tuple(name.strip() for name in args.recognizers.split(",") if name.strip())
    unknown = set(recognizers) - {"local", "deepgram", "flux"}
    if unknown:
        parser.error(f"unknown recognizers: {', '.join(sorted(unknown))}")
    return report.options_from(
        Options,
        args,
        answers=max(1, answers),
        e2e=max(0, min(e2e, answers)),
        recognizers=recognizers,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return report.command(argv, parse_options, benchmark, render, plot)


if __name__ == "__main__":
    sys.exit(main())
