"""The parsing benchmark's acceptance thresholds for the offline heuristic parser."""

from __future__ import annotations

import json
from pathlib import Path

from bench.parsing import heuristic_report, main


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
