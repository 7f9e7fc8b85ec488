"""Load benchmark of the live interview path.

    python -m bench.latency --sessions 1,10,50,100,150 --answers 3
    python -m bench.latency --sessions 50 --workers 2

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
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import report
from bench.eventloop import add_loop_option, run
from bench.processes import RESULTS, setting_default
from bench.sweep import Options, benchmark


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
        default=setting_default("deepgram_endpointing_ms"),
        help="DEEPGRAM_ENDPOINTING_MS of the server (the fake's endpointing)",
    )
    p.add_argument(
        "--patience-s",
        type=float,
        default=setting_default("interview_patience_s"),
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
    add_loop_option(p, "event loop of the load generator and the fakes")
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
        "--workers",
        type=int,
        default=1,
        help="WORKERS of the server: intrvuer serve --workers N (CPU and RSS per worker)",
    )
    p.add_argument(
        "--profile-server",
        type=Path,
        metavar="PATH",
        help="run the server under cProfile and write its stats here (slows it)",
    )
    args = p.parse_args(argv)
    if not 1 <= args.workers <= 64:
        p.error("--workers must be between 1 and 64")
    if args.workers > 1 and args.profile_server is not None:
        p.error("--profile-server profiles one process: use it without --workers")
    if not 1 <= args.answers <= 12:
        p.error("--answers must be between 1 and 12 (an interview has at most 12 questions)")
    return report.options_from(
        Options,
        args,
        compression=None if args.compression == "none" else args.compression,
        plot=None if args.no_plot else args.plot,
        render_only=args.render,
    )


def _barge_in_options(argv: Sequence[str] | None) -> argparse.Namespace | None:
    p = argparse.ArgumentParser(prog="python -m bench.latency --barge-in", add_help=False)
    p.add_argument("--barge-in", action="store_true")
    p.add_argument(
        "--trials", type=int, default=40, help="speech over the interviewer, per recognizer"
    )
    p.add_argument("--recognizers", default="deepgram,local", help="deepgram (nova-3 fake), local")
    p.add_argument("--confirm-s", type=float, default=1.0, help="BARGE_IN_CONFIRM_S")
    p.add_argument("--out", type=Path, default=RESULTS / "bargein.json")
    args, _ = p.parse_known_args(argv)
    return args if args.barge_in else None


def main(argv: Sequence[str] | None = None) -> int:
    barge_in = _barge_in_options(argv)
    if barge_in is not None:
        from bench import bargein

        names = [name.strip() for name in barge_in.recognizers.split(",") if name.strip()]
        return bargein.main(names, barge_in.trials, barge_in.confirm_s, barge_in.out)
    options = parse_options(argv)
    if options.render_only is not None:
        result = json.loads(options.render_only.read_text())
    else:
        result = {}

        async def go() -> None:
            result.update(await benchmark(options))

        run(go, options.loop)
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
