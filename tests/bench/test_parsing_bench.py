"""The parsing benchmark's acceptance thresholds for the offline heuristic parser."""

from __future__ import annotations

import json
from pathlib import Path

from bench.parsing import (
    Report,
    heuristic_postings,
    heuristic_report,
    main,
    postings,
    score_posting,
)
from pipeline.documents.types import JobData


def test_heuristic_parser_meets_the_acceptance_thresholds() -> None:
    report = heuristic_report()
    resumes = len(report.exact["name_exact"])
    assert resumes >= 8
    for field in ("name_exact", "email_exact", "phone_exact"):
        assert report.rate(field) == 1.0, [m for m in report.misses if field in m]
    assert report.fields["skills"].f1 >= 0.9
    assert report.rate("experience_count") >= 0.9, report.misses
    assert report.rate("education_count") >= 0.9, report.misses
    assert len(report.exact["job.title_exact"]) >= 4


def test_the_set_has_pdf_and_docx_resumes_and_the_command_writes_json(tmp_path: Path) -> None:
    names = [p.name for p in (Path("bench/parsing_data/resumes")).iterdir()]
    assert sum(name.endswith(".pdf") for name in names) >= 4
    assert sum(name.endswith(".docx") for name in names) >= 4
    out = tmp_path / "parsing.json"
    assert main(["--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written[0]["parser"] == "heuristic"
    assert set(written[0]["fields"]["skills"]) >= {"precision", "recall", "f1"}


def test_the_postings_are_a_development_half_and_a_held_out_half() -> None:
    dev, heldout = postings("dev"), postings("heldout")
    assert len(dev) >= 15 and len(heldout) >= 15 and len(dev) + len(heldout) >= 30
    assert not {name for name, _, _ in dev} & {name for name, _, _ in heldout}
    for _, text, truth in [*dev, *heldout]:
        assert text.strip() and truth["title"] and truth["company"] and truth["skills"]


def test_the_development_half_meets_the_targets() -> None:
    report = heuristic_postings("dev")
    assert report.rate("title_exact") >= 0.95, report.misses
    assert report.rate("company_exact") >= 0.95, report.misses
    assert report.fields["skills"].recall >= 0.9, report.misses
    assert report.fields["skills"].precision >= 0.85, report.misses


def test_each_half_is_reported_apart(tmp_path: Path) -> None:
    out = tmp_path / "parsing.json"
    assert main(["--out", str(out)]) == 0
    halves = json.loads(out.read_text())[0]["postings"]
    assert set(halves) == {"dev", "heldout"}
    for half in halves.values():
        assert set(half["exact"]) == {"title_exact", "company_exact"}
        assert set(half["fields"]["skills"]) >= {"precision", "recall"}


def test_a_skill_counts_under_any_spelling_and_a_mentioned_one_is_neutral() -> None:
    report = Report("test")
    truth = {
        "title": ["Product Manager, Growth", "Growth Product Manager"],
        "company": "Acme",
        "skills": [["Epic EHR", "Epic"], "Design systems"],
        "mentioned": ["Jira"],
    }
    parsed = JobData(
        title="Growth Product Manager",
        company="Acme",
        skills=["Epic", "design system", "Jira", "Excel"],
    )
    score_posting(report, "p", parsed, truth)
    skills = report.fields["skills"]
    assert (skills.true_positives, skills.false_positives, skills.false_negatives) == (2, 1, 0)
    assert report.rate("title_exact") == 1.0 and report.rate("company_exact") == 1.0
