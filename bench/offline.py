"""Benchmark of the offline voice path: local recognition, offline interviewer, Kokoro.

    python -m bench.offline --interviews 2 --answers 3

Starts ``intrvuer serve`` with no API keys (so every provider is local) in a temporary
data directory, then holds ``--interviews`` interviews one after another: a simulated
candidate (``bench/candidate.py``) streams espeak-ng answers in real time over the live
protocol and waits for each reply. It reports:

- end of candidate speech → first interviewer audio at the client (p50/p95/p99);
- turn decision → first audio sent, for replies that open with a prepared phrase;
- time to first audio and real-time factor of fresh (uncached) sentences, measured
  with the same model in this process while the server is idle;
- event-loop lag inside the server (``LOOP_LAG_PROBE_MS``; read from its log);
- the server's peak RSS, and the phrase-cache counters.

JSON and a PNG go to ``bench/results/``. The session patience settings are part of the
end-of-speech latency: they are printed and stored with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import procstat, report
from bench.accounts import create_accounts, ticket_url
from bench.audio import ANSWERS, FINISHED_ANSWERS, SpokenAnswer, spoken_answers
from bench.candidate import Candidate, CandidateResult, Crowd, FrameClock, SpeakingTracker
from bench.processes import RESULTS, server_env, server_process
from pipeline.turns import TurnPolicy

TARGETS_MS = {
    "speech_end_to_first_audio_p50": 900.0,
    "speech_end_to_first_audio_p95": 1500.0,  # over whole interviews, first replies included
    "prepared_phrase_first_audio_p50": 150.0,
    "loop_lag_p99": 20.0,
}
TARGET_RSS_MB = 1536.0
FRESH_SENTENCES = (
    "Tell me about a project where the requirements changed late.",
    "How did you decide which tasks to drop when time ran short?",
    "What would you do differently if you ran that project again?",
    "Describe a time you had to explain a technical idea to a customer.",
    "Which part of your last role taught you the most, and why?",
)
# The server's own state decides what a reply is made of; these are the parts between
# the turn decision and the first audio frame handed to the socket.
DECISION_TO_AUDIO = (
    "server_final_to_llm_ms",
    "llm_first_token_ms",
    "server_token_to_tts_ms",
    "tts_first_byte_ms",
    "server_tts_to_client_ms",
)
PREPARED_TTS_MS = 50.0  # a first byte this quick came from the phrase cache


@dataclass(frozen=True)
class Options:
    interviews: int
    answers: int
    patience_s: float
    unfinished_patience_s: float
    threads: int
    lag_probe_ms: int
    fresh: int
    out: Path
    plot: Path
    answer_set: str = "finished"  # FINISHED_ANSWERS, or "short": bench.audio.ANSWERS


def server_settings(options: Options, model: Path, voices: Path) -> dict[str, str]:
    return {
        "LOG_LEVEL": "INFO",
        "KOKORO_MODEL": str(model),
        "KOKORO_VOICES": str(voices),
        "KOKORO_THREADS": str(options.threads),
        "LOOP_LAG_PROBE_MS": str(options.lag_probe_ms),
        "INTERVIEW_PATIENCE_S": str(options.patience_s),
        "INTERVIEW_UNFINISHED_PATIENCE_S": str(options.unfinished_patience_s),
        "INTERVIEW_FOLLOW_UPS": "0",
    }


async def run_interviews(
    options: Options, answers: list[SpokenAnswer], scratch: Path, model: Path, voices: Path
) -> dict[str, Any]:
    # No key of the caller's may reach the server: everything must be local.
    env = server_env(server_settings(options, model, voices), also_drop=("KOKORO_",))
    peak_rss = 0
    sampling = True
    results: list[CandidateResult] = []
    async with server_process(scratch, env) as server:

        async def sample_rss() -> None:
            nonlocal peak_rss
            while sampling:
                sample = procstat.sample_process(server.pid)
                if sample is not None:
                    peak_rss = max(peak_rss, sample.rss_bytes)
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample_rss())
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            accounts = await create_accounts(http, options.interviews, options.answers)
            for number, account in enumerate(accounts, start=1):
                print(f"interview {number}/{options.interviews} ...", file=sys.stderr)
                crowd = Crowd(1, FrameClock(), SpeakingTracker(), None, 0.0, 180.0, None)
                stop = asyncio.Event()
                clock = asyncio.create_task(crowd.clock.run(stop))
                url = await ticket_url(http, server, account)
                try:
                    results.append(await Candidate(0, url, answers, crowd).run())
                finally:
                    stop.set()
                    await clock
        sampling = False
        await sampler
    log_lines = (scratch / "server.log").read_text(errors="replace").splitlines()
    return {"results": results, "peak_rss_bytes": peak_rss, "log": log_lines}


def lag_reports(log_lines: list[str]) -> list[dict[str, Any]]:
    reports = []
    for line in log_lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "event loop lag":
            reports.append(entry)
    return reports


async def fresh_sentences(model: Path, voices: Path, threads: int, count: int) -> dict[str, Any]:
    """Time to first audio and real-time factor of sentences never synthesized before."""
    from voices.kokoro import KokoroSynthesizer
    from voices.kokoro_engine import KokoroOptions
    from voices.models import KokoroFiles
    from voices.types import AudioChunk, SynthesisDone

    files = KokoroFiles(model, voices, "settings", "bench", "bench")
    synthesizer = KokoroSynthesizer(KokoroOptions(lambda: files, model_id="bench", threads=threads))
    synthesizer.warm()  # load the model before timing
    await asyncio.to_thread(synthesizer.engine.loaded.wait, 120)
    stream = await synthesizer.open(sample_rate=24000, voice="default")
    first_ms, factors = [], []
    try:
        for text in FRESH_SENTENCES[:count]:
            started = time.monotonic()
            first: float | None = None
            audio_s = 0.0
            await stream.speak(text)
            await stream.flush()
            async for event in stream.events():
                if isinstance(event, AudioChunk):
                    first = first or time.monotonic()
                    audio_s += event.duration_s
                elif isinstance(event, SynthesisDone):
                    break
                else:
                    raise RuntimeError(f"synthesis failed: {event}")
            took = time.monotonic() - started
            assert first is not None
            first_ms.append((first - started) * 1000)
            factors.append(took / audio_s)
    finally:
        await synthesizer.aclose()
    return {
        "first_audio_ms": report.summary(first_ms),
        "real_time_factor": report.summary(factors),
    }


def analyse(run: dict[str, Any], fresh: dict[str, Any], options: Options) -> dict[str, Any]:
    results: list[CandidateResult] = run["results"]
    replies = [answer for result in results for answer in result.answers]
    speech_end = [a.client_voice_to_voice_ms for a in replies if a.client_voice_to_voice_ms]
    # The reply to each interview's first answer: the one that found nothing warm before.
    first_reply = [
        a.client_voice_to_voice_ms for a in replies if a.answer == 1 and a.client_voice_to_voice_ms
    ]
    decision, prepared = [], []
    for answer in replies:
        parts = [answer.server_metrics.get(name) for name in DECISION_TO_AUDIO]
        if any(part is None for part in parts):
            continue
        total = sum(part for part in parts if part is not None)
        decision.append(total)
        if answer.server_metrics.get("tts_first_byte_ms", 1e9) <= PREPARED_TTS_MS:
            prepared.append(total)
    lags = lag_reports(run["log"])
    lag_p99 = [entry["lag_p99_ms"] for entry in lags]
    counters = lags[-1] if lags else {}
    peak_rss_mb = round(run["peak_rss_bytes"] / 2**20, 1)
    measured = {
        "speech_end_to_first_audio_ms": report.summary(speech_end),
        "first_reply_speech_end_to_first_audio_ms": report.summary(first_reply),
        "per_answer_speech_end_to_first_audio_ms": [
            [a.answer, a.client_voice_to_voice_ms] for a in replies
        ],
        "decision_to_first_audio_ms": report.summary(decision),
        "prepared_phrase_first_audio_ms": report.summary(prepared),
        "turn_metrics_ms": {
            name: report.summary(
                [a.server_metrics[name] for a in replies if name in a.server_metrics]
            )
            for name in ("end_of_speech_to_final_ms", "turn_decision_ms", "tts_first_byte_ms")
        },
        "fresh_sentence": fresh,
        "loop_lag_ms": {
            "window_p99": report.summary(lag_p99),
            "max": max((entry["lag_max_ms"] for entry in lags), default=None),
            "windows": len(lags),
        },
        "server_peak_rss_mb": peak_rss_mb,
        "kokoro": {
            key: counters.get(key)
            for key in (
                "cache_hits",
                "cache_misses",
                "sentences_synthesized",
                "sentences_prepared",
                "synthesis_s",
                "audio_s",
            )
        },
        "interviews_completed": sum(1 for r in results if r.completed),
        "errors": [r.error for r in results if r.error],
    }
    checks = {
        "speech_end_to_first_audio_p50": measured["speech_end_to_first_audio_ms"]["p50"],
        "speech_end_to_first_audio_p95": measured["speech_end_to_first_audio_ms"]["p95"],
        "prepared_phrase_first_audio_p50": measured["prepared_phrase_first_audio_ms"]["p50"],
        # The worst 5-second window's p99, so one busy stretch is not averaged away.
        "loop_lag_p99": measured["loop_lag_ms"]["window_p99"]["max"],
    }
    targets = [
        {
            "name": name,
            "limit": limit,
            "value": checks[name],
            "met": checks[name] is not None and checks[name] <= limit,
        }
        for name, limit in TARGETS_MS.items()
    ]
    targets.append(
        {
            "name": "server_peak_rss_mb",
            "limit": TARGET_RSS_MB,
            "value": peak_rss_mb,
            "met": peak_rss_mb <= TARGET_RSS_MB,
        }
    )
    return {**measured, "targets": targets}


def render(result: dict[str, Any]) -> str:
    lines = [
        f"offline voice benchmark, {result['created']} on {result['machine']['cpus']} CPUs",
        "settings: " + ", ".join(f"{k}={v}" for k, v in result["settings"].items()),
    ]

    def row(name: str, values: dict[str, Any]) -> str:
        return (
            f"  {name:<38} p50 {values['p50']!s:>8}  p95 {values['p95']!s:>8}  "
            f"p99 {values['p99']!s:>8}  (n={values['count']})"
        )

    lines.append(
        row("speech end → first audio (client), ms", result["speech_end_to_first_audio_ms"])
    )
    if "first_reply_speech_end_to_first_audio_ms" in result:
        first = result["first_reply_speech_end_to_first_audio_ms"]
        lines.append(row("  first reply of each interview, ms", first))
    lines.append(row("turn decision → first audio, ms", result["decision_to_first_audio_ms"]))
    lines.append(row("  of which prepared phrases, ms", result["prepared_phrase_first_audio_ms"]))
    for name, values in result["turn_metrics_ms"].items():
        lines.append(row(name, values))
    fresh = result["fresh_sentence"]
    lines.append(row("fresh sentence first audio, ms", fresh["first_audio_ms"]))
    lines.append(row("fresh sentence real-time factor", fresh["real_time_factor"]))
    lag = result["loop_lag_ms"]
    lines.append(row("event-loop lag, p99 per 5 s window", lag["window_p99"]))
    lines.append(f"  event-loop lag max: {lag['max']} ms over {lag['windows']} windows")
    lines.append(f"  server peak RSS: {result['server_peak_rss_mb']} MB")
    lines.append("  kokoro: " + ", ".join(f"{k}={v}" for k, v in result["kokoro"].items()))
    lines.append("targets:")
    for target in result["targets"]:
        mark = "met" if target["met"] else "MISSED"
        lines.append(f"  {target['name']:<34} {target['value']!s:>8} ≤ {target['limit']}  {mark}")
    if result["errors"]:
        lines.append("errors: " + "; ".join(result["errors"]))
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> bool:
    plt = report.pyplot()
    if plt is None:
        return False
    figure, (latency_axes, lag_axes) = plt.subplots(1, 2, figsize=(13, 5))
    names = {
        "speech end → audio": result["speech_end_to_first_audio_ms"],
        "decision → audio": result["decision_to_first_audio_ms"],
        "prepared phrase": result["prepared_phrase_first_audio_ms"],
        "fresh sentence": result["fresh_sentence"]["first_audio_ms"],
    }
    positions = range(len(names))
    for offset, q in ((-0.25, "p50"), (0.0, "p95"), (0.25, "p99")):
        latency_axes.bar(
            [p + offset for p in positions],
            [values[q] or 0 for values in names.values()],
            width=0.25,
            label=q,
        )
    latency_axes.axhline(900, linestyle="--", color="grey", label="900 ms target")
    latency_axes.axhline(150, linestyle=":", color="grey", label="150 ms target")
    latency_axes.set_xticks(list(positions), list(names), rotation=15)
    latency_axes.set(title="first interviewer audio", ylabel="ms")
    latency_axes.legend()
    windows = result["loop_lag_windows"]
    lag_axes.plot([w["lag_p99_ms"] for w in windows], "-o", label="p99")
    lag_axes.plot([w["lag_max_ms"] for w in windows], "-s", alpha=0.5, label="max")
    lag_axes.axhline(20, linestyle="--", color="grey", label="20 ms target")
    lag_axes.set(title="server event-loop lag per 5 s window", xlabel="window", ylabel="ms")
    lag_axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


async def benchmark(options: Options) -> dict[str, Any]:
    from voices.models import resolve_kokoro

    created = report.now()
    pool = FINISHED_ANSWERS if options.answer_set == "finished" else ANSWERS
    texts = [pool[i % len(pool)] for i in range(options.answers)]
    answers = spoken_answers(texts, RESULTS / "audio")
    found = await asyncio.to_thread(resolve_kokoro, data_dir=RESULTS / "kokoro")
    with tempfile.TemporaryDirectory(prefix="intrvuer-offline-bench-") as scratch:
        run = await run_interviews(options, answers, Path(scratch), found.model, found.voices)
        if not run["results"] or not any(r.answers for r in run["results"]):
            raise RuntimeError("no interview produced a reply:\n" + "\n".join(run["log"][-30:]))
    print("fresh sentences ...", file=sys.stderr)
    fresh = await fresh_sentences(found.model, found.voices, options.threads, options.fresh)
    return {
        **report.opening("offline voices", created),
        "settings": {
            "INTERVIEW_PATIENCE_S": options.patience_s,
            "INTERVIEW_UNFINISHED_PATIENCE_S": options.unfinished_patience_s,
            "INTERVIEW_FOLLOW_UPS": 0,
            "KOKORO_THREADS": options.threads,
            "LOOP_LAG_PROBE_MS": options.lag_probe_ms,
            "interviews": options.interviews,
            "answers": options.answers,
            "answer_set": options.answer_set,
            "model": found.describe(),
        },
        "loop_lag_windows": [
            {key: entry.get(key) for key in ("lag_p50_ms", "lag_p99_ms", "lag_max_ms")}
            for entry in lag_reports(run["log"])
        ],
        **analyse(run, fresh, options),
    }


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interviews", type=int, default=2, help="interviews, one at a time")
    parser.add_argument("--answers", type=int, default=3, help="answers per interview")
    # The server's own defaults, so a run measures what a self-hoster gets.
    defaults = TurnPolicy()
    parser.add_argument(
        "--patience-s", type=float, default=defaults.patience_s, help="INTERVIEW_PATIENCE_S"
    )
    parser.add_argument(
        "--unfinished-patience-s",
        type=float,
        default=defaults.unfinished_patience_s,
        help="INTERVIEW_UNFINISHED_PATIENCE_S",
    )
    parser.add_argument("--threads", type=int, default=2, help="KOKORO_THREADS")
    parser.add_argument("--lag-probe-ms", type=int, default=10, help="LOOP_LAG_PROBE_MS")
    parser.add_argument(
        "--fresh", type=int, default=len(FRESH_SENTENCES), help="fresh sentences to time"
    )
    parser.add_argument(
        "--answer-set",
        choices=("finished", "short"),
        default="finished",
        help="finished: answers of the length an open question deserves (30+ words); "
        "short: the 23-25-word answers of the other benchmarks, which the policy waits on",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "offline.json")
    parser.add_argument("--plot", type=Path, default=RESULTS / "offline.png")
    args = parser.parse_args(argv)
    fresh = max(1, min(args.fresh, len(FRESH_SENTENCES)))
    return report.options_from(Options, args, fresh=fresh)


def main(argv: Sequence[str] | None = None) -> int:
    return report.command(argv, parse_options, benchmark, render, plot)


if __name__ == "__main__":
    sys.exit(main())
