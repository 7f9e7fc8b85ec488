"""The load benchmark's run: a sweep of points, each with fresh processes and candidates.

Each point starts the fakes and a fresh server, registers the candidates, warms the
server up, measures it idle, then runs the candidates at once while sampling every
process (``bench/README.md``, "What runs").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import procstat, report
from bench.accounts import create_accounts, ticket_url, warm_up
from bench.analysis import Sample, analyse_point
from bench.audio import ANSWERS, SpokenAnswer, spoken_answers
from bench.candidate import (
    Candidate,
    CandidateResult,
    Crowd,
    FrameClock,
    Rounds,
    SpeakingTracker,
    run_candidates,
)
from bench.fakes import DEFAULT_REPLY, DEFAULT_TRANSCRIPT, utterance_flags
from bench.processes import (
    RESULTS,
    Fakes,
    code_version,
    fakes_process,
    keep_logs,
    server_env,
    server_process,
)

SAMPLE_INTERVAL_S = 0.2  # CPU/RSS samples while sessions are live
SETTLE_S = 1.0  # after the warm-up session, before the idle baseline
IDLE_S = 2.0  # length of the idle baseline
QUIET_WINDOW_S = 3.0  # how long other processes' CPU is measured before a sweep point


@dataclass(frozen=True)
class Options:
    sessions: list[int]
    answers: int
    stt_final_latency_ms: float
    llm_first_token_ms: float
    llm_inter_token_ms: float
    tts_first_byte_ms: float
    speak_ms_per_char: float
    endpointing_ms: int
    patience_s: float
    stagger_s: float
    turn_timeout_s: float
    compression: str | None
    out: Path
    plot: Path | None
    loop: str
    free_running: bool = False
    profile_server: Path | None = None
    render_only: Path | None = None
    quiet_below: float | None = None
    quiet_wait_s: float = 600.0
    workers: int = 1  # intrvuer serve --workers N

    @property
    def injected_ms(self) -> dict[str, float]:
        return {
            "stt_final_latency": self.stt_final_latency_ms,
            "llm_first_token": self.llm_first_token_ms,
            "tts_first_byte": self.tts_first_byte_ms,
        }

    @property
    def subtracted_ms(self) -> dict[str, float]:
        """What voice-to-voice must include whatever the server does: the providers'
        injected latency, and the wait for the end of the candidate's turn. That wait ends
        when the recognizer has called the end of speech (endpointing, then its injected
        latency) and the patience, counted from the end of speech, is over, whichever is
        later."""
        parts = {
            "llm_first_token": self.llm_first_token_ms,
            "tts_first_byte": self.tts_first_byte_ms,
            "turn_wait": max(
                self.endpointing_ms + self.stt_final_latency_ms, self.patience_s * 1000
            ),
        }
        return {**parts, "total": round(sum(parts.values()), 2)}

    @property
    def fake_flags(self) -> dict[str, float | str]:
        """The fakes' knobs, as ``bench.fakes`` takes them."""
        return {
            "stt-final-latency-ms": self.stt_final_latency_ms,
            "llm-first-token-ms": self.llm_first_token_ms,
            "llm-inter-token-ms": self.llm_inter_token_ms,
            "tts-first-byte-ms": self.tts_first_byte_ms,
            "speak-ms-per-char": self.speak_ms_per_char,
        }


def _server_settings(options: Options, fakes: Fakes) -> dict[str, str]:
    return {
        "LOG_LEVEL": "WARNING",
        "DEEPGRAM_API_KEY": fakes.deepgram_api_key,
        "DEEPGRAM_BASE_URL": fakes.deepgram_url,
        "DEEPGRAM_ENDPOINTING_MS": str(options.endpointing_ms),
        "STT_PROVIDER": "deepgram",
        "TTS_PROVIDER": "deepgram",
        "OPENAI_API_KEY": fakes.openai_api_key,
        "OPENAI_BASE_URL": fakes.openai_base_url,
        "LLM_PROVIDERS": "openai",
        "INTERVIEW_PATIENCE_S": str(options.patience_s),
        "INTERVIEW_FOLLOW_UPS": "0",
        # Every simulated candidate registers from 127.0.0.1.
        "REGISTER_RATE_LIMIT": "100000",
        "WORKERS": str(options.workers),
    }


class Sampler:
    """Snapshots of every process at a fixed interval, with how many candidates spoke."""

    def __init__(self, pids: dict[str, int], tracker: SpeakingTracker) -> None:
        self.pids = pids
        self.tracker = tracker
        self.samples: list[Sample] = []

    def take(self) -> procstat.Snapshot:
        snap = procstat.snapshot(self.pids)
        self.samples.append(Sample(snap, self.tracker.speaking, self.tracker.changes))
        return snap

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.take()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_INTERVAL_S)


class SessionSpread:
    """How the live sessions spread over the server's workers: their counts from
    ``/metrics`` (``intrvuer_worker_live_sessions``), kept at the moment most were live."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.peak: dict[str, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while not stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    counts = _worker_sessions((await http.get("/metrics")).text)
                    if sum(counts.values()) > sum(self.peak.values()):
                        self.peak = counts
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    def summary(self) -> dict[str, Any]:
        total = sum(self.peak.values())
        share = total / len(self.peak) if self.peak else 0
        worst = max((abs(n - share) / share for n in self.peak.values()), default=0) if share else 0
        return {
            "live_sessions_at_peak": dict(sorted(self.peak.items())),
            "largest_deviation_from_share_pct": round(100 * worst, 1),
        }


def _worker_sessions(metrics: str) -> dict[str, int]:
    prefix = 'intrvuer_worker_live_sessions{worker="'
    counts = {}
    for line in metrics.splitlines():
        if line.startswith(prefix):
            worker, _, value = line[len(prefix) :].partition('"} ')
            counts[worker] = int(float(value))
    return counts


async def worker_pids(supervisor_pid: int, count: int) -> list[int]:
    """The worker processes of ``intrvuer serve --workers`` (spawned by the supervisor;
    their CPU pools are their own children), once all are up."""
    for _ in range(300):
        # procfs is no disk (bench/procstat.py reads it on the loop too).
        found = _spawned_children(supervisor_pid)
        if len(found) >= count:
            return sorted(found)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the server's {count} workers did not start")


def _spawned_children(parent_pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == parent_pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


async def wait_until_quiet(options: Options) -> dict[str, Any]:
    """On a shared machine: wait (bounded) until other processes use less than
    ``--quiet-below`` % of one core, so that they do not take the CPU from the run."""
    pids = {"loadgen": os.getpid()}
    waited = 0.0
    while True:
        start = procstat.snapshot(pids)
        await asyncio.sleep(QUIET_WINDOW_S)
        others = procstat.others_percent(start, procstat.snapshot(pids)) or 0.0
        if options.quiet_below is None or others < options.quiet_below:
            break
        waited += QUIET_WINDOW_S
        if waited >= options.quiet_wait_s:
            print(f"  others still use {others:.0f} % of a core; going on", file=sys.stderr)
            break
    return {"others_pct": round(others, 1), "waited_s": round(waited, 1)}


async def run_point(sessions: int, options: Options, answers: list[SpokenAnswer]) -> dict[str, Any]:
    before = await wait_until_quiet(options)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="intrvuer-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        async with (
            fakes_process(
                scratch, options.fake_flags | utterance_flags(answers), options.loop
            ) as fakes,
            server_process(
                scratch, server_env(_server_settings(options, fakes)), options.profile_server
            ) as server,
        ):
            pids = {"server": server.pid, "fakes": fakes.pid, "loadgen": os.getpid()}
            if options.workers > 1:
                # "server" is the supervisor (it only waits); each worker is measured apart.
                workers = await worker_pids(server.pid, options.workers)
                pids.update({f"worker-{index}": pid for index, pid in enumerate(workers)})
            spread = SessionSpread(server.url)
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                accounts = await create_accounts(http, sessions + 1, len(answers))
                await warm_up(await ticket_url(http, server, accounts[0]), options.compression)
                await asyncio.sleep(SETTLE_S)
                idle_start = procstat.snapshot(pids)
                await asyncio.sleep(IDLE_S)
                idle_end = procstat.snapshot(pids)
                # Tickets live 60 s: made last, just before the candidates connect.
                urls = [await ticket_url(http, server, account) for account in accounts[1:]]
            crowd = Crowd(
                size=sessions,
                clock=FrameClock(),
                tracker=SpeakingTracker(),
                rounds=None if options.free_running else Rounds(sessions),
                stagger_s=options.stagger_s,
                turn_timeout_s=options.turn_timeout_s,
                compression=options.compression,
            )
            sampler = Sampler(pids, crowd.tracker)
            candidates = [Candidate(index, url, answers, crowd) for index, url in enumerate(urls)]
            marks: dict[str, procstat.Snapshot] = {}
            try:
                results = await _live_phase(
                    candidates, crowd.clock, sampler, marks, options, spread
                )
            finally:
                keep_logs(scratch, options.out.parent / "logs", sessions)
    point = analyse_point(
        sessions,
        results,
        idle=(idle_start, idle_end),
        marks=marks,
        samples=sampler.samples,
        clock=crowd.clock,
        subtracted_ms=options.subtracted_ms["total"],
        duration_s=time.monotonic() - started,
    )
    point["machine_before"] = before
    point["workers"] = {"count": options.workers, **spread.summary()}
    return point


async def _live_phase(
    candidates: list[Candidate],
    clock: FrameClock,
    sampler: Sampler,
    marks: dict[str, procstat.Snapshot],
    options: Options,
    spread: SessionSpread,
) -> list[CandidateResult]:
    longest = sum(answer.seconds for answer in candidates[0].answers) if candidates else 0
    # Generous: every turn may wait its full timeout before the run is given up.
    deadline = (
        options.stagger_s + longest + options.turn_timeout_s * (len(candidates[0].answers) + 2)
    )

    async def all_ready() -> None:
        for candidate in candidates:
            await candidate.ready.wait()
        marks["connected"] = sampler.take()

    def finished(result: CandidateResult) -> None:
        # The live window ends when the first candidate that made it to ``ready`` leaves;
        # one that failed on the way in ends nothing.
        if "connected" in marks and "first_done" not in marks:
            marks["first_done"] = sampler.take()

    stop = asyncio.Event()
    marks["start"] = sampler.take()
    async with asyncio.TaskGroup() as group:
        group.create_task(clock.run(stop))
        group.create_task(sampler.run(stop))
        group.create_task(spread.run(stop))
        readiness = group.create_task(all_ready())
        try:
            results = await asyncio.wait_for(
                run_candidates(candidates, options.stagger_s, finished), deadline
            )
        finally:
            stop.set()
            readiness.cancel()
    marks["end"] = sampler.take()
    return results


async def benchmark(options: Options) -> dict[str, Any]:
    started = report.now()
    code = code_version()  # before the run: the tree may change while it lasts
    texts = [ANSWERS[i % len(ANSWERS)] for i in range(options.answers)]
    answers = spoken_answers(texts, RESULTS / "audio")
    points = []
    for sessions in options.sessions:
        print(f"running {sessions} session(s) × {options.answers} answer(s) ...", file=sys.stderr)
        points.append(await run_point(sessions, options, answers))
    return {
        **report.opening("live interview latency", started, code),
        "config": {
            "sessions": options.sessions,
            "answers_per_session": options.answers,
            "injected_ms": options.injected_ms,
            "llm_inter_token_ms": options.llm_inter_token_ms,
            "subtracted_ms": options.subtracted_ms,
            "endpointing_ms": options.endpointing_ms,
            "patience_s": options.patience_s,
            "stagger_s": options.stagger_s,
            "rounds": not options.free_running,
            "compression": options.compression or "none",
            "speak_ms_per_char": options.speak_ms_per_char,
            "answers": [{"text": a.text, "seconds": round(a.seconds, 2)} for a in answers],
            "transcript": DEFAULT_TRANSCRIPT,
            "interviewer_reply": DEFAULT_REPLY,
            "follow_ups": 0,
            "workers": options.workers,
        },
        "points": points,
        "targets": report.evaluate_targets(points),
    }
