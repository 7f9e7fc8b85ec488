"""Load benchmark of the live interview path.

    python -m bench.latency --sessions 1,10,50,100,150 --answers 3

For each sweep point it starts the fakes (``bench/fakes.py``) and a fresh ``intrvuer
serve`` (temporary SQLite data directory) as their own processes, registers the
candidates, then runs N simulated candidates at once: each streams its spoken answers
(espeak-ng WAVs) in real time over the live protocol and waits for the interviewer's reply.
It prints p50/p95/p99 of every per-turn metric, the time spent inside the server, the
server-added overhead, and CPU and RSS of each process, and writes JSON and a PNG plot.
``bench/README.md`` says what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from websockets.asyncio.client import connect

from bench import procstat, report
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
from bench.fakes import DEFAULT_REPLY, DEFAULT_TRANSCRIPT
from bench.fakes import run as run_on_loop
from server.settings import Settings

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PASSWORD = "bench-candidate-password"
JWT_SECRET = "bench-jwt-secret-that-is-long-enough-for-hs256-0123456789"
SAMPLE_INTERVAL_S = 0.2  # CPU/RSS samples while sessions are live
SETTLE_S = 1.0  # after the warm-up session, before the idle baseline
IDLE_S = 2.0  # length of the idle baseline
STARTUP_TIMEOUT_S = 30.0
SETUP_CONCURRENCY = 4  # registrations at once (Argon2 is deliberately slow)
QUIET_WINDOW_S = 3.0  # how long other processes' CPU is measured before a sweep point


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


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


# --- processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fakes:
    pid: int
    deepgram_url: str
    deepgram_api_key: str
    openai_base_url: str
    openai_api_key: str


@dataclass(frozen=True)
class Server:
    pid: int
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def _log_file(path: Path) -> IO[bytes]:
    return path.open("wb")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _stop(process: asyncio.subprocess.Process, timeout_s: float = 15) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@contextlib.asynccontextmanager
async def fakes_process(options: Options, scratch: Path) -> AsyncIterator[Fakes]:
    log_path = scratch / "fakes.log"
    with _log_file(log_path) as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fakes",
            "--stt-final-latency-ms", str(options.stt_final_latency_ms),
            "--llm-first-token-ms", str(options.llm_first_token_ms),
            "--llm-inter-token-ms", str(options.llm_inter_token_ms),
            "--tts-first-byte-ms", str(options.tts_first_byte_ms),
            "--speak-ms-per-char", str(options.speak_ms_per_char),
            "--loop", options.loop,
            cwd=REPO, env=_python_env(), stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
            ready = json.loads(line)
        except (TimeoutError, ValueError):
            raise RuntimeError(f"the fakes did not start:\n{_tail(log_path)}") from None
        yield Fakes(
            pid=int(ready["pid"]),
            deepgram_url=ready["deepgram_url"],
            deepgram_api_key=ready["deepgram_api_key"],
            openai_base_url=ready["openai_base_url"],
            openai_api_key=ready["openai_api_key"],
        )
    finally:
        await _stop(process)


# cProfile of the server's main thread (its event loop), timed in that thread's CPU time:
# wall time would also count the moments the process is not scheduled, which on a busy
# machine swamps what the code itself costs. The stats are written when the server exits.
_PROFILED_SERVE = """
import cProfile, sys, time
from server.cli import main
profiler = cProfile.Profile(time.thread_time)
try:
    profiler.runcall(main, sys.argv[2:])
finally:
    profiler.dump_stats(sys.argv[1])
"""


def _server_command(profile: Path | None) -> list[str]:
    if profile is not None:
        return [sys.executable, "-c", _PROFILED_SERVE, str(profile)]
    installed = Path(sys.executable).with_name("intrvuer")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "server.cli"]


def server_env(options: Options, fakes: Fakes, data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in _python_env().items()
        # Nothing of the caller's own configuration may leak into the measured server.
        if not key.startswith(("DEEPGRAM_", "OPENAI_", "GROQ_", "INTERVIEW_", "LLM_"))
        and key not in ("DATABASE_URL", "REDIS_URL", "STT_PROVIDER", "TTS_PROVIDER")
    }
    env.update(
        ENV="development",
        DATA_DIR=str(data_dir),
        JWT_SECRET=JWT_SECRET,
        LOG_LEVEL="WARNING",
        DEEPGRAM_API_KEY=fakes.deepgram_api_key,
        DEEPGRAM_BASE_URL=fakes.deepgram_url,
        DEEPGRAM_ENDPOINTING_MS=str(options.endpointing_ms),
        STT_PROVIDER="deepgram",
        TTS_PROVIDER="deepgram",
        OPENAI_API_KEY=fakes.openai_api_key,
        OPENAI_BASE_URL=fakes.openai_base_url,
        LLM_PROVIDERS="openai",
        INTERVIEW_PATIENCE_S=str(options.patience_s),
        INTERVIEW_FOLLOW_UPS="0",
        # Every simulated candidate registers from 127.0.0.1.
        REGISTER_RATE_LIMIT="100000",
    )
    return env


@contextlib.asynccontextmanager
async def server_process(options: Options, fakes: Fakes, scratch: Path) -> AsyncIterator[Server]:
    data_dir = scratch / "data"
    data_dir.mkdir()
    port = _free_port()
    log_path = scratch / "server.log"
    command = [*_server_command(options.profile_server), "serve", "--host", "127.0.0.1"]
    with _log_file(log_path) as log:
        process = await asyncio.create_subprocess_exec(
            *command, "--port", str(port),
            cwd=scratch,  # no stray .env file is read
            env=server_env(options, fakes, data_dir), stdout=log, stderr=log,
        )  # fmt: skip
    server = Server(process.pid, f"http://127.0.0.1:{port}")
    try:
        await _wait_healthy(server, process, log_path)
        yield server
    finally:
        await _stop(process)
        if process.returncode not in (0, -signal.SIGINT):
            print(f"server exited with {process.returncode}:\n{_tail(log_path)}", file=sys.stderr)


async def _wait_healthy(server: Server, process: asyncio.subprocess.Process, log: Path) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=2) as http:
        for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
            if process.returncode is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server did not become healthy:\n{_tail(log)}")


# --- accounts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    token: str
    interview_id: str


async def create_accounts(http: httpx.AsyncClient, count: int, questions: int) -> list[Account]:
    """Register ``count`` candidates, each with an interview of ``questions`` questions."""
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(index: int) -> Account:
        async with limit:
            registered = await http.post(
                "/v1/auth/register",
                json={
                    "email": f"candidate{index}@example.org",
                    "password": PASSWORD,
                    "name": f"Candidate {index}",
                    "confirm_age_16": True,
                },
            )
            registered.raise_for_status()
            token = registered.json()["access_token"]
            # A mixed interview: its question bank is the largest (12), so every answer
            # count the protocol allows gets a question of its own.
            created = await http.post(
                "/v1/interviews",
                json={"type": "mixed", "question_count": questions},
                headers={"authorization": f"Bearer {token}"},
            )
            created.raise_for_status()
            planned = len(created.json()["questions"])
            if planned != questions:
                raise RuntimeError(f"asked for {questions} questions, the plan has {planned}")
            return Account(token, created.json()["id"])

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(index)) for index in range(count)]
    return [task.result() for task in tasks]


async def ticket_url(http: httpx.AsyncClient, server: Server, account: Account) -> str:
    response = await http.post(
        f"/v1/interviews/{account.interview_id}/ticket",
        headers={"authorization": f"Bearer {account.token}"},
    )
    response.raise_for_status()
    ticket = response.json()["ticket"]
    return f"{server.ws_url}/v1/interviews/{account.interview_id}/live?ticket={ticket}"


async def warm_up(url: str, compression: str | None) -> None:
    """One short session before the baseline, so the server's first-use work (lazy imports
    of the provider SDKs, first connections) is not counted as the sessions' cost."""
    async with connect(url, max_size=2**20, compression=compression, open_timeout=30) as ws:
        await ws.send(json.dumps({"type": "start"}))
        async with asyncio.timeout(30):
            async for message in ws:
                if isinstance(message, bytes):  # the greeting is being spoken
                    break
        await ws.send(json.dumps({"type": "stop"}))
        async with asyncio.timeout(10):
            async for _ in ws:
                pass


def _keep_logs(scratch: Path, folder: Path, sessions: int) -> None:
    """The server's and the fakes' logs (warnings and errors only) of a sweep point."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("server", "fakes"):
        source = scratch / f"{name}.log"
        if source.exists():
            shutil.copyfile(source, folder / f"{sessions}-sessions-{name}.log")


# --- one sweep point ----------------------------------------------------------------------


@dataclass
class Sample:
    snapshot: procstat.Snapshot
    speaking: int
    changes: int


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
            fakes_process(options, scratch) as fakes,
            server_process(options, fakes, scratch) as server,
        ):
            pids = {"server": server.pid, "fakes": fakes.pid, "loadgen": os.getpid()}
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
                results = await _live_phase(candidates, crowd.clock, sampler, marks, options)
            finally:
                _keep_logs(scratch, options.out.parent / "logs", sessions)
    point = analyse_point(
        sessions,
        results,
        idle=(idle_start, idle_end),
        marks=marks,
        sampler=sampler,
        clock=crowd.clock,
        options=options,
        duration_s=time.monotonic() - started,
    )
    point["machine_before"] = before
    return point


async def _live_phase(
    candidates: list[Candidate],
    clock: FrameClock,
    sampler: Sampler,
    marks: dict[str, procstat.Snapshot],
    options: Options,
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


# --- analysis -----------------------------------------------------------------------------


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 2)


def _cpu_over(start: procstat.Snapshot, end: procstat.Snapshot) -> dict[str, float | None]:
    found: dict[str, float | None] = {
        name: _round(procstat.cpu_percent(start, end, name)) for name in start.processes
    }
    found["others"] = _round(procstat.others_percent(start, end))
    found["machine"] = _round(procstat.machine_percent(start, end))
    return found


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _speaking_windows(samples: list[Sample], sessions: int) -> tuple[float, dict[str, float]]:
    """Seconds during which all ``sessions`` candidates were speaking, and the CPU seconds
    each process (and the machine, as busy seconds) used in them."""
    seconds, used = 0.0, dict[str, float]()
    for a, b in zip(samples, samples[1:], strict=False):
        if a.speaking == b.speaking == sessions and a.changes == b.changes:
            seconds += b.snapshot.at - a.snapshot.at
            for name, sample in b.snapshot.processes.items():
                before = a.snapshot.processes.get(name)
                if before is not None:
                    used[name] = used.get(name, 0.0) + sample.cpu_s - before.cpu_s
            busy = b.snapshot.machine.busy_s - a.snapshot.machine.busy_s
            used["machine"] = used.get("machine", 0.0) + busy
    return seconds, used


def _above_idle(busy: float | None, idle: float | None, sessions: int) -> float | None:
    if busy is None or idle is None:
        return None
    return _round((busy - idle) / sessions)


def _join_cost(marks: dict[str, procstat.Snapshot], sessions: int) -> float | None:
    """Server CPU per session from the first connection to every session ``ready``:
    handshake, authorization, database, opening the provider sockets."""
    start, ready = marks.get("start"), marks.get("connected")
    if start is None or ready is None:
        return None
    a, b = start.processes.get("server"), ready.processes.get("server")
    if a is None or b is None:
        return None
    return round((b.cpu_s - a.cpu_s) / sessions * 1000, 1)


def _saturation(live: dict[str, float | None], clock: FrameClock) -> dict[str, Any]:
    """Who ran out of CPU while the sessions were live, in words and numbers."""
    cores = os.cpu_count() or 1
    machine, server = live.get("machine"), live.get("server")
    late = report.summary(clock.lateness_ms)["p99"]
    if machine is None or server is None:
        verdict = "no live window measured"
    elif machine >= 90:
        shares = ", ".join(
            f"{name} {live[name]:.0f} %"
            for name in ("server", "fakes", "loadgen", "others")
            if live.get(name) is not None
        )
        verdict = (
            f"the machine is saturated: {machine:.0f} % of {cores} cores busy ({shares} of one "
            f"core); the server used {server:.0f} % of the one core its event loop can use"
        )
    elif server >= 90:
        verdict = f"the server's event loop is saturated: {server:.0f} % of one core"
    else:
        verdict = f"not saturated: machine {machine:.0f} %, server {server:.0f} % of one core"
    return {
        "machine_busy_pct": machine,
        "server_core_pct": server,
        "server_headroom_pct": None if server is None else round(max(0.0, 100 - server), 1),
        "loadgen_lateness_p99_ms": late,
        "load_generator_late": late is not None and late > 20,
        "verdict": verdict,
    }


def _timeline(samples: list[Sample], origin: float) -> list[dict[str, Any]]:
    """Per sampling interval: seconds since all sessions were ready, how many candidates
    were speaking, and each process's CPU (% of one core) — to see when saturation came."""
    rows = []
    for a, b in zip(samples, samples[1:], strict=False):
        cpu = {name: _round(procstat.cpu_percent(a.snapshot, b.snapshot, name), 1)
               for name in b.snapshot.processes}  # fmt: skip
        cpu["machine"] = _round(procstat.machine_percent(a.snapshot, b.snapshot), 1)
        rows.append({"t": round(b.snapshot.at - origin, 2), "speaking": b.speaking, "cpu": cpu})
    return rows


def analyse_point(
    sessions: int,
    results: list[CandidateResult],
    *,
    idle: tuple[procstat.Snapshot, procstat.Snapshot],
    marks: dict[str, procstat.Snapshot],
    sampler: Sampler,
    clock: FrameClock,
    options: Options,
    duration_s: float,
) -> dict[str, Any]:
    turns = [answer for result in results for answer in result.answers]
    subtracted = options.subtracted_ms["total"]
    metrics = {
        name: report.summary(t.server_metrics[name] for t in turns if name in t.server_metrics)
        for name in report.SERVER_METRICS
    }
    overhead = [
        sum(t.server_metrics[name] for name in report.INSIDE_SERVER)
        for t in turns
        if all(name in t.server_metrics for name in report.INSIDE_SERVER)
    ]
    server_v2v = [
        t.server_metrics["voice_to_voice_ms"]
        for t in turns
        if "voice_to_voice_ms" in t.server_metrics
    ]
    client_v2v = [
        t.client_voice_to_voice_ms for t in turns if t.client_voice_to_voice_ms is not None
    ]

    idle_start, idle_end = idle
    live_start = marks.get("connected", idle_end)
    live_end = marks.get("first_done", marks["end"])
    speaking_s, speaking_cpu = _speaking_windows(sampler.samples, sessions)
    cores = os.cpu_count() or 1
    speaking_pct: dict[str, float | None] = {
        name: _round(used / speaking_s * 100) if speaking_s else None
        for name, used in speaking_cpu.items()
        if name != "machine"
    }
    busy = speaking_cpu.pop("machine", 0.0)
    ours = sum(speaking_cpu.values())
    speaking_pct["others"] = (
        _round(max(0.0, busy - ours) / speaking_s * 100) if speaking_s else None
    )
    speaking_pct["machine"] = _round(busy / speaking_s / cores * 100) if speaking_s else None
    live_cpu = _cpu_over(live_start, live_end)
    server_speaking = speaking_pct.get("server")
    server_live = live_cpu.get("server")
    idle_server = procstat.cpu_percent(idle_start, idle_end, "server")

    in_window = [
        s.snapshot for s in sampler.samples if live_start.at <= s.snapshot.at <= live_end.at
    ] or [live_end]
    rss: dict[str, dict[str, float | None]] = {}
    for name in idle_end.processes:
        peak = max(
            (snap.processes[name].rss_bytes for snap in in_window if name in snap.processes),
            default=None,
        )
        rss[name] = {
            "idle": _mb(idle_end.processes[name].rss_bytes),
            "connected": _mb(live_start.processes[name].rss_bytes)
            if name in live_start.processes
            else None,
            "peak": _mb(peak),
            "end": _mb(marks["end"].processes[name].rss_bytes)
            if name in marks["end"].processes
            else None,
        }
    server_rss = rss.get("server", {})

    def growth(key: str) -> float | None:
        value, base = server_rss.get(key), server_rss.get("idle")
        return None if value is None or base is None else round((value - base) / sessions, 3)

    return {
        "sessions": sessions,
        "completed": sum(result.completed for result in results),
        "errors": dict(Counter(r.error for r in results if r.error)),
        "error_events": dict(sum((r.error_events for r in results), Counter[str]())),
        "answers": len(turns),
        "duration_s": round(duration_s, 1),
        "metrics_ms": metrics,
        "server_overhead_ms": report.summary(overhead),
        "client_voice_to_voice_ms": report.summary(client_v2v),
        "added_overhead_ms": {
            "subtracted_ms": subtracted,
            "server_measured": report.summary(v - subtracted for v in server_v2v),
            "client_measured": report.summary(v - subtracted for v in client_v2v),
        },
        "cpu": {
            "idle": _cpu_over(idle_start, idle_end),
            "live": live_cpu,
            "live_window_s": round(live_end.at - live_start.at, 2),
            "speaking": speaking_pct,
            "speaking_window_s": round(speaking_s, 2),
            "server_per_session_speaking_pct": _round(
                server_speaking / sessions if server_speaking is not None else None
            ),
            "server_per_session_speaking_above_idle_pct": _above_idle(
                server_speaking, idle_server, sessions
            ),
            "server_per_session_live_pct": _round(
                server_live / sessions if server_live is not None else None
            ),
            "runqueue_wait_ms_per_s": {
                name: _round(procstat.runqueue_wait_per_s(live_start, live_end, name), 1)
                for name in live_start.processes
            },
        },
        "rss_mb": rss,
        "rss_growth_per_session_mb": {"connected": growth("connected"), "peak": growth("peak")},
        "server_join_cpu_ms_per_session": _join_cost(marks, sessions),
        "saturation": _saturation(live_cpu, clock),
        "loadgen_tick_lateness_ms": report.summary(clock.lateness_ms),
        "timeline": _timeline(sampler.samples, live_start.at),
    }


# --- command line -------------------------------------------------------------------------


def _sessions(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a number or a list like 1,10,50") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("session counts must be at least 1")
    return values


def parse_options(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    p.add_argument(
        "--sessions",
        type=_sessions,
        default=[1],
        help="concurrent candidates; a list (1,10,50) runs a sweep, a fresh server each",
    )
    p.add_argument("--answers", type=int, default=3, help="answers per candidate (1-12)")
    p.add_argument(
        "--stt-final-latency-ms",
        type=float,
        default=0.0,
        help="injected: fake Deepgram's delay of each final transcript",
    )
    p.add_argument(
        "--llm-first-token-ms",
        type=float,
        default=0.0,
        help="injected: fake LLM's delay before the first token",
    )
    p.add_argument(
        "--llm-inter-token-ms",
        type=float,
        default=0.0,
        help="injected: between tokens (not subtracted; it lands in server_token_to_tts_ms)",
    )
    p.add_argument(
        "--tts-first-byte-ms",
        type=float,
        default=0.0,
        help="injected: fake Deepgram's delay before the first audio of each text",
    )
    p.add_argument(
        "--speak-ms-per-char",
        type=float,
        default=60.0,
        help="length of the fake interviewer voice per character",
    )
    p.add_argument(
        "--endpointing-ms",
        type=int,
        default=_default("deepgram_endpointing_ms"),
        help="DEEPGRAM_ENDPOINTING_MS of the server (the fake's endpointing)",
    )
    p.add_argument(
        "--patience-s",
        type=float,
        default=_default("interview_patience_s"),
        help="INTERVIEW_PATIENCE_S of the server",
    )
    p.add_argument(
        "--stagger-s",
        type=float,
        default=2.0,
        help="candidates start spread over this many seconds",
    )
    p.add_argument(
        "--turn-timeout-s",
        type=float,
        default=60.0,
        help="longest wait for any one event before a candidate gives up",
    )
    p.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="offer permessage-deflate as browsers do (default), or not",
    )
    p.add_argument("--out", type=Path, default=RESULTS / "latency.json")
    p.add_argument("--plot", type=Path, default=RESULTS / "latency.png")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop of the load generator and the fakes",
    )
    p.add_argument(
        "--free-running",
        action="store_true",
        help="answer as soon as each question ends, not in rounds (see bench/README.md)",
    )
    p.add_argument(
        "--quiet-below",
        type=float,
        metavar="PCT",
        help="before each point, wait until other processes use less than PCT %% of a core",
    )
    p.add_argument(
        "--quiet-wait-s",
        type=float,
        default=600.0,
        help="the longest wait for --quiet-below (then the point runs anyway)",
    )
    p.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="run nothing: print the table and draw the plot of an earlier run's JSON",
    )
    p.add_argument(
        "--profile-server",
        type=Path,
        metavar="PATH",
        help="run the server under cProfile and write its stats here (slows it)",
    )
    args = p.parse_args(argv)
    if not 1 <= args.answers <= 12:
        p.error("--answers must be between 1 and 12 (an interview has at most 12 questions)")
    return Options(
        sessions=args.sessions,
        answers=args.answers,
        stt_final_latency_ms=args.stt_final_latency_ms,
        llm_first_token_ms=args.llm_first_token_ms,
        llm_inter_token_ms=args.llm_inter_token_ms,
        tts_first_byte_ms=args.tts_first_byte_ms,
        speak_ms_per_char=args.speak_ms_per_char,
        endpointing_ms=args.endpointing_ms,
        patience_s=args.patience_s,
        stagger_s=args.stagger_s,
        turn_timeout_s=args.turn_timeout_s,
        compression=None if args.compression == "none" else args.compression,
        out=args.out,
        plot=None if args.no_plot else args.plot,
        loop=args.loop,
        free_running=args.free_running,
        profile_server=args.profile_server,
        render_only=args.render,
        quiet_below=args.quiet_below,
        quiet_wait_s=args.quiet_wait_s,
    )


def _code_version() -> dict[str, Any]:
    """The commit measured, and the files that differed from it (the tree may be dirty)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        # Only the end is trimmed: porcelain lines start with a meaningful space.
        return done.stdout.rstrip() if done.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {"commit": git("rev-parse", "HEAD") or None, "changed_files": changed[:50]}


async def benchmark(options: Options) -> dict[str, Any]:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    code = _code_version()
    texts = [ANSWERS[i % len(ANSWERS)] for i in range(options.answers)]
    answers = spoken_answers(texts, RESULTS / "audio")
    points = []
    for sessions in options.sessions:
        print(f"running {sessions} session(s) × {options.answers} answer(s) ...", file=sys.stderr)
        points.append(await run_point(sessions, options, answers))
    return {
        "benchmark": "live interview latency",
        "created": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
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
        },
        "points": points,
        "targets": report.evaluate_targets(points),
    }


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if options.render_only is not None:
        result = json.loads(options.render_only.read_text())
    else:
        result = {}

        async def go() -> None:
            result.update(await benchmark(options))

        run_on_loop(go, options.loop)
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report.render(result))
    if options.render_only is None:
        print(f"\nJSON: {options.out}")
    if options.plot is not None:
        if report.plot(result, options.plot):
            print(f"plot: {options.plot}")
        else:
            print("plot: skipped (pip install matplotlib, or the 'bench' extra)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
