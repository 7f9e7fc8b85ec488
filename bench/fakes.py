"""Serve the fake Deepgram and the fake OpenAI in a process of their own.

    python -m bench.fakes --stt-final-latency-ms 0 --llm-first-token-ms 0 --tts-first-byte-ms 0

Once both listen (on 127.0.0.1 and free ports) it prints one JSON line on stdout with
their URLs and keys, then serves until SIGTERM or SIGINT, and exits 0. The benchmark runs
the fakes apart from the server so that their CPU time is not counted as the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from bench.audio import SpokenAnswer
from bench.eventloop import add_loop_option, run
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai

DEFAULT_TRANSCRIPT = (
    "I led the migration of our billing service to a new database, and after careful "
    "testing it reduced checkout errors by forty percent within two months, which saved "
    "the support team about ten hours every week."
)
DEFAULT_REPLY = "Thank you. Next, tell me about a time you had to make a hard trade-off."


def server_settings(deepgram: FakeDeepgram, openai: FakeOpenAI, recognizer: str) -> dict[str, str]:
    """The settings of a server whose providers are these fakes: ``recognizer`` (deepgram or
    local) hears, the fake Deepgram voice speaks, the fake OpenAI interviews."""
    return {
        "LOG_LEVEL": "WARNING",
        "DEEPGRAM_API_KEY": deepgram.api_key,
        "DEEPGRAM_BASE_URL": deepgram.url,
        "STT_PROVIDER": recognizer,
        "TTS_PROVIDER": "deepgram",
        "OPENAI_API_KEY": openai.api_key,
        "OPENAI_BASE_URL": openai.openai_base_url,
        "LLM_PROVIDERS": "openai",
        "INTERVIEW_FOLLOW_UPS": "0",
        "REGISTER_RATE_LIMIT": "100000",
    }


def utterance_flags(answers: Sequence[SpokenAnswer]) -> dict[str, float | str]:
    """The flag telling the fakes how long each answer is spoken, in the order every
    candidate says them: the fake Deepgram then finalizes each answer's words as they are
    heard, whatever the endpointing."""
    return {"utterance-seconds": ",".join(f"{answer.seconds:.3f}" for answer in answers)}


def _seconds_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated seconds: {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.fakes", description=__doc__.split("\n")[0])
    p.add_argument(
        "--stt-final-latency-ms",
        type=float,
        default=0.0,
        help="delay before each final transcript (FakeDeepgram.final_latency_ms)",
    )
    p.add_argument(
        "--llm-first-token-ms",
        type=float,
        default=0.0,
        help="delay before the first token of each reply (FakeOpenAI.first_token_ms)",
    )
    p.add_argument(
        "--llm-inter-token-ms",
        type=float,
        default=0.0,
        help="delay between tokens (FakeOpenAI.inter_token_ms)",
    )
    p.add_argument(
        "--tts-first-byte-ms",
        type=float,
        default=0.0,
        help="delay before the audio of each flush (FakeDeepgram.speak_first_byte_ms)",
    )
    p.add_argument(
        "--speak-ms-per-char",
        type=float,
        default=60.0,
        help="length of the fake voice per character of text",
    )
    p.add_argument(
        "--transcript",
        default=DEFAULT_TRANSCRIPT,
        help="what the fake Deepgram hears in every utterance",
    )
    p.add_argument(
        "--utterance-seconds",
        type=_seconds_list,
        default=(),
        help="how long each utterance of a listen connection is spoken, in turn (comma-"
        "separated seconds; FakeDeepgram.utterance_seconds); empty: one segment each",
    )
    p.add_argument(
        "--reply", default=DEFAULT_REPLY, help="what the fake LLM answers to every request"
    )
    p.add_argument("--deepgram-key", default="dg-bench-key")
    p.add_argument("--openai-key", default="sk-bench-key")
    add_loop_option(p, "event loop (auto: uvloop when installed)")
    return p  # fmt: skip


def build_fakes(args: argparse.Namespace) -> tuple[FakeDeepgram, FakeOpenAI]:
    deepgram = FakeDeepgram(
        api_key=args.deepgram_key,
        fallback_transcript=args.transcript,
        final_latency_ms=args.stt_final_latency_ms,
        speak_first_byte_ms=args.tts_first_byte_ms,
        speak_ms_per_char=args.speak_ms_per_char,
        utterance_seconds=args.utterance_seconds,
    )
    reply: str = args.reply
    openai = FakeOpenAI(
        api_key=args.openai_key,
        responder=lambda messages: reply,
        first_token_ms=args.llm_first_token_ms,
        inter_token_ms=args.llm_inter_token_ms,
    )
    return deepgram, openai


async def serve(args: argparse.Namespace) -> None:
    deepgram, openai = build_fakes(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with run_fake_deepgram(deepgram), run_fake_openai(openai):
        ready: dict[str, Any] = {
            "pid": os.getpid(),
            "deepgram_url": deepgram.url,
            "deepgram_ws_url": deepgram.ws_url,
            "deepgram_api_key": deepgram.api_key,
            "openai_url": openai.url,
            "openai_base_url": openai.openai_base_url,
            "openai_api_key": openai.api_key,
        }
        print(json.dumps(ready), flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run(lambda: serve(args), args.loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
