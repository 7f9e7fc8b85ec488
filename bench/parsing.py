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

The job postings in ``bench/parsing_data/postings/`` are scored apart, in two halves:
``dev``, which the parser is tuned on, and ``heldout``, which it never is. Each reports
how often the title and the company are exact and the precision and recall of the skills
the posting asks for; a skill counts as found under any of its truth's spellings, and a
skill the truth lists as only ``mentioned`` is neither right nor wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.documents.extract import extract_text
from pipeline.documents.job_parser import parse_job
from pipeline.documents.resume_parser import parse_resume
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
    halves: dict[str, Report] = field(default_factory=dict)

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
            **(
                {"postings": {name: half.as_dict() for name, half in self.halves.items()}}
                if self.halves
                else {}
            ),
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
    _score_entries(report, name, "experience", parsed.experience, truth["experience"])
    _score_entries(report, name, "education", parsed.education, truth["education"])


# The fields of each kind of entry that are scored, each entry by its position.
_ENTRY_FIELDS = {
    "experience": ("title", "company", "start", "end"),
    "education": ("degree", "school"),
}


def _score_entries(
    report: Report, name: str, kind: str, got: Sequence[BaseModel], want: list[dict[str, Any]]
) -> None:
    report.mark(f"{kind}_count", len(got) == len(want), name, f"got {len(got)}, want {len(want)}")
    for key in _ENTRY_FIELDS[kind]:
        report.score(f"{kind}.{key}").add(
            (f"{i}:{normalize(getattr(entry, key) or '')}" for i, entry in enumerate(got)),
            (f"{i}:{normalize(entry[key])}" for i, entry in enumerate(want)),
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


def skill_key(value: str) -> str:
    """A skill compared ignoring case, hyphens, brackets and plurals ("Design systems"
    is "design system")."""
    value = re.sub(r"\.(?=\s|$)", "", normalize(value))  # "Read Write Inc. phonics"
    words = re.sub(r"[-–/()]+", " ", value).replace("’", "'").split()
    return " ".join(word[:-1] if len(word) > 3 and word.endswith("s") else word for word in words)


def _spellings(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def score_posting(report: Report, name: str, parsed: JobData, truth: dict[str, Any]) -> None:
    for key in JOB_SCALARS:
        got = getattr(parsed, key)
        accepted = {normalize(spelling) for spelling in _spellings(truth[key])}
        ok = got is not None and normalize(got) in accepted
        report.mark(f"{key}_exact", ok, name, f"got {got!r}, want {truth[key]!r}")
    wanted = [{skill_key(s) for s in _spellings(skill)} for skill in truth["skills"]]
    neutral = {skill_key(skill) for skill in truth.get("mentioned", [])}
    matched: set[int] = set()
    score = report.score("skills")
    for skill in parsed.skills:
        key = skill_key(skill)
        hits = [i for i, spellings in enumerate(wanted) if key in spellings]
        fresh = [i for i in hits if i not in matched]
        if fresh:
            matched.add(fresh[0])
            score.true_positives += 1
        elif not hits and key in neutral:
            continue
        else:  # not asked for, or a second name for a skill already found
            score.false_positives += 1
            report.misses.append(f"{name}: skills: extra {skill!r}")
    for i, skill in enumerate(truth["skills"]):
        if i not in matched:
            score.false_negatives += 1
            report.misses.append(f"{name}: skills: missed {_spellings(skill)[0]!r}")


POSTING_HALVES = ("dev", "heldout")


def postings(half: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, text, truth) of every job posting in one half of the postings set."""
    found = []
    for path in sorted((DATA / "postings" / half).glob("*.txt")):
        truth = json.loads(path.with_suffix(".json").read_text())
        found.append((path.name, path.read_text(), truth))
    return found


async def evaluate_postings(label: str, half: str, job_parser: JobParser) -> Report:
    """Parse one half of the postings with one parser and score it."""
    report = Report(f"{label} postings/{half}")
    started = time.perf_counter()
    for name, text, truth in postings(half):
        score_posting(report, name, await job_parser(text), truth)
    report.seconds = time.perf_counter() - started
    return report


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
    for half in POSTING_HALVES:
        report.halves[half] = await evaluate_postings(label, half, job_parser)
    return report


async def _heuristic_resume(text: str) -> ResumeData:
    return parse_resume(text)


async def _heuristic_job(text: str) -> JobData:
    return parse_job(text)


def heuristic_report() -> Report:
    """The heuristic parser's scores (what the smoke test asserts on)."""
    return asyncio.run(evaluate("heuristic", _heuristic_resume, _heuristic_job))


def heuristic_postings(half: str) -> Report:
    """The heuristic parser's scores on one half of the postings."""
    return asyncio.run(evaluate_postings("heuristic", half, _heuristic_job))


def print_report(report: Report) -> None:
    print(f"\n{report.parser}  ({report.seconds:.2f} s)")
    print(f"  {'field':<22}{'precision':>10}{'recall':>10}{'f1':>10}")
    for name, score in report.fields.items():
        print(f"  {name:<22}{score.precision:>10.3f}{score.recall:>10.3f}{score.f1:>10.3f}")
    for name in report.exact:
        print(f"  {name:<22}{'exact on':>10}{report.rate(name):>10.0%}")
    for miss in report.misses:
        print(f"  miss  {miss}")
    for name, half in report.halves.items():
        skills = half.fields.get("skills", Score())
        print(
            f"\n{half.parser}  ({len(half.exact.get('title_exact', []))} postings)"
            f"\n  title exact {half.rate('title_exact'):.0%}"
            f"  company exact {half.rate('company_exact'):.0%}"
            f"  skills precision {skills.precision:.3f} recall {skills.recall:.3f}"
        )
        if name != "heldout":  # the held-out half's misses are in the JSON only
            for miss in half.misses:
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
