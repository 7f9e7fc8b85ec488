"""Soak benchmark: candidates holding back-to-back interviews for a long time.

    python -m bench.soak --sessions 50 --minutes 60           # cloud path, with the fakes
    python -m bench.soak --sessions 2 --minutes 20 --offline  # local Whisper and Kokoro

It starts one ``intrvuer serve`` (temporary SQLite data directory) and, on the cloud path,
the provider fakes as their own processes. Each of ``--sessions`` candidates then holds
interviews one after another until the time is up: a new interview, a ticket, every answer
spoken in real time, the interview ended (its feedback job runs as for a real candidate).
Every minute it records the server's RSS, open file descriptors, threads, asyncio tasks and
event-loop lag (from ``LOOP_LAG_PROBE_MS`` in the server's log), the background jobs waiting
per kind (from ``/metrics``), and the voice-to-voice of the answers given in that minute.
What grows over an hour is what leaks: the summary compares the end of the run with its
first quarter, and the last sixth's voice-to-voice with the first sixth's. JSON and a PNG go
to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import procstat, report
from bench.accounts import Account, create_accounts, ticket_url
from bench.audio import ANSWERS, SpokenAnswer, spoken_answers
from bench.candidate import Candidate, Crowd, FrameClock, SpeakingTracker
from bench.fakes import utterance_flags
from bench.offline import lag_reports
from bench.processes import (
    RESULTS,
    Server,
    fakes_process,
    server_env,
    server_process,
)

LAG_PROBE_MS = 10
TURN_TIMEOUT_S = 60.0  # a reply slower than this fails the interview (and is counted)
TARGETS = {
    "rss_growth_mb": 5.0,  # over the run after its first quarter
    "v2v_p95_change_pct": 10.0,  # last sixth against the first sixth
}


@dataclass(frozen=True)
class Options:
    sessions: int
    minutes: float
    answers: int
    offline: bool
    sample_s: float
    stagger_s: float
    out: Path
    plot: Path | None


@dataclass
class Tally:
    """What the candidates did, with the client's clock of each answer."""

    started: float = field(default_factory=time.monotonic)
    answers: list[tuple[float, float]] = field(default_factory=list)  # (at_s, v2v ms)
    interviews: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # what went wrong, how often

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _cloud_settings(fakes: Any) -> dict[str, str]:
    return {
        "DEEPGRAM_API_KEY": fakes.deepgram_api_key,
        "DEEPGRAM_BASE_URL": fakes.deepgram_url,
        "STT_PROVIDER": "deepgram",
        "TTS_PROVIDER": "deepgram",
        "OPENAI_API_KEY": fakes.openai_api_key,
        "OPENAI_BASE_URL": fakes.openai_base_url,
        "LLM_PROVIDERS": "openai",
    }


def _server_settings(options: Options, provider_settings: dict[str, str]) -> dict[str, str]:
    return {
        # INFO: the event-loop lag reports are what the soak reads from the log.
        "LOG_LEVEL": "INFO",
        "LOOP_LAG_PROBE_MS": str(LAG_PROBE_MS),
        "INTERVIEW_FOLLOW_UPS": "0",
        "REGISTER_RATE_LIMIT": "100000",  # every candidate registers from 127.0.0.1
        # Each candidate signs in once: its access token lasts the run (the default 15
        # minutes made every ticket request of a longer run fail with 401).
        "ACCESS_TOKEN_TTL_S": str(int(options.minutes * 60) + 600),
        **provider_settings,
    }


@contextlib.asynccontextmanager
async def _processes(
    options: Options, scratch: Path, answers: list[SpokenAnswer]
) -> AsyncIterator[tuple[Server, list[int]]]:
    """The server (and on the cloud path the fakes), with the pids of the harness."""
    if options.offline:
        from voices.models import resolve_kokoro

        found = await asyncio.to_thread(resolve_kokoro, data_dir=RESULTS / "kokoro")
        local = {"KOKORO_MODEL": str(found.model), "KOKORO_VOICES": str(found.voices)}
        env = server_env(_server_settings(options, local), also_drop=("KOKORO_",))
        async with server_process(scratch, env) as server:
            yield server, [os.getpid()]
        return
    async with fakes_process(scratch, utterance_flags(answers), "auto") as fakes:
        env = server_env(_server_settings(options, _cloud_settings(fakes)))
        async with server_process(scratch, env) as server:
            yield server, [os.getpid(), fakes.pid]


def _count_entries(path: Path) -> int | None:
    try:
        return len(os.listdir(path))
    except OSError:
        return None


def _threads(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _last_lag_report(log: Path, offset: int) -> tuple[dict[str, Any] | None, int]:
    """The newest event-loop lag report written after ``offset``, and the new offset."""
    try:
        with log.open("rb") as source:
            source.seek(offset)
            chunk = source.read()
    except OSError:
        return None, offset
    end = chunk.rfind(b"\n") + 1
    lines = chunk[:end].decode(errors="replace").splitlines()
    reports = lag_reports(lines)
    return (reports[-1] if reports else None), offset + end


_QUEUE_LINE = re.compile(
    r'^intrvuer_queue_(pending_jobs|oldest_job_age_seconds)\{kind="([^"]+)"\} (\S+)$'
)


async def _queue_lag(http: httpx.AsyncClient) -> dict[str, dict[str, float]]:
    """Jobs waiting per kind, and the oldest one's age, from the server's ``/metrics``: a
    backlog of background work is what grows when the server cannot keep up."""
    try:
        text = (await http.get("/metrics")).text
    except httpx.HTTPError:
        return {}
    lag: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if found := _QUEUE_LINE.match(line):
            what, kind, value = found.groups()
            key = "pending" if what == "pending_jobs" else "oldest_age_s"
            lag.setdefault(kind, {})[key] = float(value)
    return lag


async def _sample(
    server: Server,
    http: httpx.AsyncClient,
    log: Path,
    tally: Tally,
    options: Options,
    stop: asyncio.Event,
) -> list[dict[str, Any]]:
    minutes: list[dict[str, Any]] = []
    offset, counted = 0, 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), options.sample_s)
        process = procstat.sample_process(server.pid)
        lag, offset = _last_lag_report(log, offset)
        window = [ms for _, ms in tally.answers[counted:]]
        counted = len(tally.answers)
        minutes.append(
            {
                "at_s": round(tally.elapsed(), 1),
                "rss_mb": round(process.rss_bytes / 2**20, 2) if process else None,
                "open_fds": _count_entries(Path(f"/proc/{server.pid}/fd")),
                "threads": _threads(server.pid),
                "tasks": lag.get("tasks") if lag else None,
                "loop_lag_p99_ms": lag.get("lag_p99_ms") if lag else None,
                "answers": len(window),
                "voice_to_voice_ms": report.summary(window),
                "interviews": tally.interviews,
                "failed": sum(tally.failed.values()),
                "queue": await _queue_lag(http),
            }
        )
    return minutes


async def _candidate(
    index: int,
    account: Account,
    server: Server,
    http: httpx.AsyncClient,
    answers: list[SpokenAnswer],
    tally: Tally,
    deadline: float,
    options: Options,
) -> None:
    await asyncio.sleep(index * options.stagger_s / max(options.sessions, 1))
    interview_id = account.interview_id  # the first was made with the account
    while tally.elapsed() < deadline:
        crowd = Crowd(1, FrameClock(), SpeakingTracker(), None, 0.0, TURN_TIMEOUT_S, None)
        stop = asyncio.Event()
        clock = asyncio.create_task(crowd.clock.run(stop))
        try:
            url = await ticket_url(http, server, Account(account.token, interview_id))
            result = await Candidate(index, url, answers, crowd).run()
        except httpx.HTTPError as failure:
            tally.failed[f"ticket: {_why(failure)}"] += 1
            await asyncio.sleep(1.0)
            continue
        finally:
            stop.set()
            await clock
        tally.interviews += 1
        if result.error:
            tally.failed[result.error] += 1
        for answer in result.answers:
            if answer.client_voice_to_voice_ms is not None:
                tally.answers.append((tally.elapsed(), answer.client_voice_to_voice_ms))
        try:
            created = await http.post(
                "/v1/interviews",
                json={"type": "mixed", "question_count": len(answers)},
                headers={"authorization": f"Bearer {account.token}"},
            )
            created.raise_for_status()
        except httpx.HTTPError as failure:
            # Counted, and tried again: one refused request must not end the soak.
            tally.failed[f"new interview: {_why(failure)}"] += 1
            await asyncio.sleep(1.0)
            continue
        interview_id = created.json()["id"]


def _why(failure: httpx.HTTPError) -> str:
    if isinstance(failure, httpx.HTTPStatusError):
        return f"HTTP {failure.response.status_code}"
    return type(failure).__name__


def _keep_warnings(log: Path, kept: Path) -> None:
    """The server's warnings and errors, beside the JSON (its INFO lines are many)."""
    lines = []
    with contextlib.suppress(OSError), log.open(errors="replace") as source:
        for line in source:
            if '"level": "info"' not in line and '"level": "debug"' not in line:
                lines.append(line)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text("".join(lines[-5000:]))


def _part(minutes: list[dict[str, Any]], start_s: float, end_s: float) -> list[dict[str, Any]]:
    return [m for m in minutes if start_s <= m["at_s"] <= end_s]


def analyse(minutes: list[dict[str, Any]], tally: Tally, duration_s: float) -> dict[str, Any]:
    """Growth after the first quarter (warm-up: heaps, caches and pools fill) to the end
    of the run (samples taken while the candidates wind down would count their closing
    sockets and tasks as shrinkage), and the voice-to-voice of the last sixth against the
    first sixth."""
    settled = _part(minutes, duration_s / 4, duration_s)

    def growth(key: str) -> float | None:
        values = [m[key] for m in settled if m[key] is not None]
        return round(values[-1] - values[0], 2) if len(values) >= 2 else None

    sixth = duration_s / 6
    first = [ms for at, ms in tally.answers if at <= sixth]
    last = [ms for at, ms in tally.answers if at >= duration_s - sixth]
    first_p95 = report.summary(first)["p95"]
    last_p95 = report.summary(last)["p95"]
    change = None
    if isinstance(first_p95, float | int) and isinstance(last_p95, float | int) and first_p95:
        change = round((last_p95 - first_p95) / first_p95 * 100, 1)
    rss_growth = growth("rss_mb")
    return {
        "interviews": tally.interviews,
        "answers": len(tally.answers),
        "failed_interviews": sum(tally.failed.values()),
        "failures": dict(tally.failed.most_common(20)),
        "growth_after_first_quarter": {
            "rss_mb": rss_growth,
            "open_fds": growth("open_fds"),
            "threads": growth("threads"),
            "tasks": growth("tasks"),
        },
        "voice_to_voice_ms": {
            "all": report.summary(ms for _, ms in tally.answers),
            "first_sixth": report.summary(first),
            "last_sixth": report.summary(last),
            "p95_change_pct": change,
        },
        "targets": {
            "rss_growth_mb": {
                "limit": TARGETS["rss_growth_mb"],
                "value": rss_growth,
                "met": rss_growth is not None and rss_growth <= TARGETS["rss_growth_mb"],
            },
            "v2v_p95_change_pct": {
                "limit": TARGETS["v2v_p95_change_pct"],
                "value": change,
                "met": change is not None and abs(change) <= TARGETS["v2v_p95_change_pct"],
            },
        },
    }


async def benchmark(options: Options) -> dict[str, Any]:
    created = report.now()
    texts = [ANSWERS[i % len(ANSWERS)] for i in range(options.answers)]
    answers = spoken_answers(texts, RESULTS / "audio")
    duration_s = options.minutes * 60
    with tempfile.TemporaryDirectory(prefix="intrvuer-soak-") as scratch_dir:
        scratch = Path(scratch_dir)
        async with (
            _processes(options, scratch, answers) as (server, _harness),
            httpx.AsyncClient(base_url=server.url, timeout=60) as http,
        ):
            accounts = await create_accounts(http, options.sessions, options.answers)
            tally = Tally()
            stop = asyncio.Event()
            sampler = asyncio.create_task(
                _sample(server, http, scratch / "server.log", tally, options, stop)
            )
            try:
                async with asyncio.TaskGroup() as group:
                    for index, account in enumerate(accounts):
                        group.create_task(
                            _candidate(
                                index, account, server, http, answers, tally, duration_s, options
                            )
                        )
            finally:
                stop.set()
                minutes = await sampler
            ran_s = tally.elapsed()
        _keep_warnings(scratch / "server.log", options.out.with_suffix(".server.log"))
    return {
        **report.opening("soak", created),
        "config": {
            "sessions": options.sessions,
            "minutes": options.minutes,
            "answers_per_interview": options.answers,
            "path": "offline" if options.offline else "cloud (fakes)",
            "sample_s": options.sample_s,
            "LOOP_LAG_PROBE_MS": LAG_PROBE_MS,
        },
        "ran_s": round(ran_s, 1),
        "minutes": minutes,
        **analyse(minutes, tally, duration_s),
    }


def render(result: dict[str, Any]) -> str:
    grown = result["growth_after_first_quarter"]
    v2v = result["voice_to_voice_ms"]
    lines = [
        f"{result['config']['sessions']} candidates, {result['config']['path']}, "
        f"{result['ran_s'] / 60:.1f} min: {result['interviews']} interviews "
        f"({result['failed_interviews']} failed), {result['answers']} answers",
        "growth after the first quarter: "
        + ", ".join(f"{key} {value}" for key, value in grown.items()),
        "voice-to-voice ms p50/p95: "
        f"all {v2v['all']['p50']}/{v2v['all']['p95']}, "
        f"first sixth {v2v['first_sixth']['p50']}/{v2v['first_sixth']['p95']}, "
        f"last sixth {v2v['last_sixth']['p50']}/{v2v['last_sixth']['p95']} "
        f"(p95 change {v2v['p95_change_pct']} %)",
    ]
    for name, target in result["targets"].items():
        verdict = "met" if target["met"] else "NOT met"
        lines.append(f"target {name} ≤ {target['limit']}: {target['value']} ({verdict})")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> bool:
    """Write the PNG; False when matplotlib is not installed (the ``bench`` extra)."""
    plt = report.pyplot()
    if plt is None:
        return False
    minutes = result["minutes"]
    at = [m["at_s"] / 60 for m in minutes]
    figure, axes = plt.subplots(2, 2, figsize=(13, 8), sharex=True)
    series = (
        (axes[0][0], "rss_mb", "server RSS", "MB"),
        (axes[0][1], "open_fds", "open file descriptors / threads / tasks", "count"),
        (axes[1][0], "loop_lag_p99_ms", "event-loop lag p99 (last 5 s window)", "ms"),
    )
    for ax, key, title, unit in series:
        ax.plot(at, [m[key] for m in minutes], "-o", markersize=3, label=key)
        ax.set(title=title, ylabel=unit)
    axes[0][1].plot(at, [m["threads"] for m in minutes], "-s", markersize=3, label="threads")
    axes[0][1].plot(at, [m["tasks"] for m in minutes], "-^", markersize=3, label="tasks")
    v2v = axes[1][1]
    for q, style in (("p50", "-o"), ("p95", "-s")):
        v2v.plot(at, [m["voice_to_voice_ms"][q] for m in minutes], style, markersize=3, label=q)
    v2v.set(title="voice-to-voice of each minute's answers (client)", ylabel="ms")
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("minutes")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sessions", type=int, default=50, help="candidates at once")
    parser.add_argument("--minutes", type=float, default=30.0, help="how long they go on")
    parser.add_argument("--answers", type=int, default=3, help="answers per interview (1-12)")
    parser.add_argument("--offline", action="store_true", help="local Whisper and Kokoro")
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples")
    parser.add_argument(
        "--stagger-s", type=float, default=10.0, help="spread of the candidates' first joins"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON (default bench/results/)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG (default beside the JSON)")
    parser.add_argument("--no-plot", action="store_true", help="no PNG")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.minutes <= 0 or not 1 <= args.answers <= 12:
        parser.error("--sessions ≥ 1, --minutes > 0 and --answers 1-12")
    name = "soak-offline" if args.offline else "soak"
    out = args.out or RESULTS / f"{name}.json"
    plot = None if args.no_plot else (args.plot or out.with_suffix(".png"))
    return report.options_from(Options, args, out=out, plot=plot)


def main(argv: Sequence[str] | None = None) -> int:
    return report.command(argv, parse_options, benchmark, render, plot)


if __name__ == "__main__":
    sys.exit(main())
