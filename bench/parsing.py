"""Parsing-quality benchmark: resumes and job descriptions against their ground truth.

    python -m bench.parsing [--llm] [--out bench/results/parsing.json]

Reads every document in ``bench/parsing_data/`` (written by
``python -m bench.parsing_data.generate``), parses it with the offline heuristic parser
(and, with ``--llm``, with the LLM configured by the usual settings: ``OPENAI_API_KEY``
or ``GROQ_API_KEY``), and prints precision, recall and F1 per field. Single-valued fields
(name, e-mail, title...) count as one item each; list fields (skills, links...) as sets.
Text is compared ignoring case, spacing and trailing punctuation; phone numbers by their
digits. ``entries_exact`` is the share of resumes whose number of positions (or schools)
is right.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.documents.extract import extract_text
from pipeline.documents.heuristic import parse_job, parse_resume
from pipeline.documents.types import JobData, ResumeData

DATA = Path(__file__).resolve().parent / "parsing_data"
RESULTS = Path(__file__).resolve().parent / "results"

RESUME_SCALARS = ("name", "email", "phone", "location")
JOB_SCALARS = ("title", "company")
JOB_LISTS = ("requirements", "responsibilities", "skills")

ResumeParser = Callable[[str], Awaitable[ResumeData]]
JobParser = Callable[[str], Awaitable[JobData]]


def normalize(value: str) -> str:
    return " ".join(value.casefold().replace("’", "'").split()).strip(" .,;:")


def normalize_phone(value: str) -> str:
    return re.sub(r"\D", "", value)


def normalize_link(value: str) -> str:
    value = normalize(value)
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", value).rstrip("/")


@dataclass
class Score:
    """Counts of one field over the whole set."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def add(self, predicted: Iterable[str], truth: Iterable[str]) -> None:
        predicted_set, truth_set = set(predicted), set(truth)
        self.true_positives += len(predicted_set & truth_set)
        self.false_positives += len(predicted_set - truth_set)
        self.false_negatives += len(truth_set - predicted_set)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
        }


@dataclass
class Report:
    """Scores of one parser over the set, and what went wrong where."""

    parser: str
    fields: dict[str, Score] = field(default_factory=dict)
    exact: dict[str, list[bool]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def score(self, name: str) -> Score:
        return self.fields.setdefault(name, Score())

    def mark(self, name: str, ok: bool, document: str, detail: str) -> None:
        self.exact.setdefault(name, []).append(ok)
        if not ok:
            self.misses.append(f"{document}: {name}: {detail}")

    def rate(self, name: str) -> float:
        values = self.exact.get(name, [])
        return sum(values) / len(values) if values else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "parser": self.parser,
            "fields": {name: score.as_dict() for name, score in self.fields.items()},
            "exact": {name: round(self.rate(name), 4) for name in self.exact},
            "misses": self.misses,
            "seconds": round(self.seconds, 3),
        }


def _one(value: str | None, normal: Callable[[str], str] = normalize) -> list[str]:
    return [normal(value)] if value else []


def score_resume(report: Report, name: str, parsed: ResumeData, truth: dict[str, Any]) -> None:
    personal = truth["personal"]
    for key in RESUME_SCALARS:
        normal = normalize_phone if key == "phone" else normalize
        got, want = getattr(parsed.personal, key), personal[key]
        report.score(key).add(_one(got, normal), _one(want, normal))
        if key != "location":
            ok = (normal(got) if got else "") == normal(want)
            report.mark(f"{key}_exact", ok, name, f"got {got!r}, want {want!r}")
    report.score("links").add(
        map(normalize_link, parsed.personal.links), map(normalize_link, personal["links"])
    )
    report.score("skills").add(map(normalize, parsed.skills), map(normalize, truth["skills"]))
    report.score("achievements").add(
        map(normalize, parsed.achievements), map(normalize, truth["achievements"])
    )
    got_jobs, want_jobs = parsed.experience, truth["experience"]
    report.mark(
        "experience_count",
        len(got_jobs) == len(want_jobs),
        name,
        f"got {len(got_jobs)}, want {len(want_jobs)}",
    )
    for key in ("title", "company", "start", "end"):
        report.score(f"experience.{key}").add(
            (f"{i}:{normalize(getattr(job, key) or '')}" for i, job in enumerate(got_jobs)),
            (f"{i}:{normalize(job[key])}" for i, job in enumerate(want_jobs)),
        )
    got_schools, want_schools = parsed.education, truth["education"]
    report.mark(
        "education_count",
        len(got_schools) == len(want_schools),
        name,
        f"got {len(got_schools)}, want {len(want_schools)}",
    )
    for key in ("degree", "school"):
        report.score(f"education.{key}").add(
            (f"{i}:{normalize(getattr(s, key) or '')}" for i, s in enumerate(got_schools)),
            (f"{i}:{normalize(s[key])}" for i, s in enumerate(want_schools)),
        )


def score_job(report: Report, name: str, parsed: JobData, truth: dict[str, Any]) -> None:
    for key in JOB_SCALARS:
        got, want = getattr(parsed, key), truth[key]
        report.score(f"job.{key}").add(_one(got), _one(want))
        ok = (normalize(got) if got else "") == normalize(want)
        report.mark(f"job.{key}_exact", ok, name, f"got {got!r}, want {want!r}")
    for key in JOB_LISTS:
        report.score(f"job.{key}").add(
            map(normalize, getattr(parsed, key)), map(normalize, truth[key])
        )


def documents() -> tuple[
    list[tuple[str, str, dict[str, Any]]], list[tuple[str, str, dict[str, Any]]]
]:
    """(name, text, truth) of every resume and every job description in the set."""
    resumes = []
    for path in sorted((DATA / "resumes").iterdir()):
        if path.suffix in (".pdf", ".docx"):
            truth = json.loads(path.with_suffix(".json").read_text())
            resumes.append((path.name, extract_text(path.read_bytes()).text, truth))
    jobs = []
    for path in sorted((DATA / "jobs").glob("*.txt")):
        truth = json.loads(path.with_suffix(".json").read_text())
        jobs.append((path.name, path.read_text(), truth))
    return resumes, jobs


async def evaluate(label: str, resume_parser: ResumeParser, job_parser: JobParser) -> Report:
    """Parse the whole set with one parser and score it."""
    resumes, jobs = documents()
    report = Report(label)
    started = time.perf_counter()
    for name, text, truth in resumes:
        score_resume(report, name, await resume_parser(text), truth)
    for name, text, truth in jobs:
        score_job(report, name, await job_parser(text), truth)
    report.seconds = time.perf_counter() - started
    return report


async def _heuristic_resume(text: str) -> ResumeData:
    return parse_resume(text)


async def _heuristic_job(text: str) -> JobData:
    return parse_job(text)


def heuristic_report() -> Report:
    """The heuristic parser's scores (what the smoke test asserts on)."""
    return asyncio.run(evaluate("heuristic", _heuristic_resume, _heuristic_job))


def print_report(report: Report) -> None:
    print(f"\n{report.parser}  ({report.seconds:.2f} s)")
    print(f"  {'field':<22}{'precision':>10}{'recall':>10}{'f1':>10}")
    for name, score in report.fields.items():
        print(f"  {name:<22}{score.precision:>10.3f}{score.recall:>10.3f}{score.f1:>10.3f}")
    for name in report.exact:
        print(f"  {name:<22}{'exact on':>10}{report.rate(name):>10.0%}")
    for miss in report.misses:
        print(f"  miss  {miss}")


async def _llm_report() -> Report | None:
    from server.providers import document_parser
    from server.settings import Settings

    parser = document_parser(Settings())
    if parser.llm is None:
        print("\n(no LLM configured: set OPENAI_API_KEY or GROQ_API_KEY for the LLM path)")
        return None
    try:

        async def resume(text: str) -> ResumeData:
            return (await parser.parse_resume(text)).data

        async def job(text: str) -> JobData:
            return (await parser.parse_job(text)).data

        return await evaluate(f"llm:{parser.llm.model}", resume, job)
    finally:
        await parser.aclose()


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--llm", action="store_true", help="also score the configured LLM")
    options.add_argument("--out", type=Path, default=RESULTS / "parsing.json")
    args = options.parse_args(argv)
    reports = [heuristic_report()]
    if args.llm:
        llm = asyncio.run(_llm_report())
        if llm is not None:
            reports.append(llm)
    for report in reports:
        print_report(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([r.as_dict() for r in reports], indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
