"""The interviewer's background summary: roles, skills and the job, never contact details."""

from __future__ import annotations

from pipeline.background import MAX_CHARS, summarize


def test_summary_of_resume_and_job() -> None:
    resume = {
        "personal": {"name": "Ada Lovelace", "email": "ada@example.org", "phone": "555 0100"},
        "experience": [
            {
                "title": "Engineer",
                "company": "Engines Ltd",
                "start": "2020",
                "end": None,
                "highlights": ["Built the scheduler", "Mentored four engineers", "Third"],
            },
        ],
        "skills": ["Python", "Go"],
        "achievements": ["Royal Society Medal"],
    }
    job = {"title": "Staff Engineer", "company": "Acme", "requirements": ["Python", "SQL"]}
    text = summarize(resume, job)
    assert "Engineer at Engines Ltd (2020–present)" in text
    assert "Built the scheduler. Mentored four engineers." in text and "Third" not in text
    assert "Python, Go" in text and "Royal Society Medal" in text
    assert "Target job: Staff Engineer at Acme." in text and "Python; SQL" in text
    assert "ada@example.org" not in text and "555" not in text and "Ada" not in text


def test_empty_and_malformed_inputs() -> None:
    assert summarize(None, None) == ""
    assert summarize({"experience": "not a list", "skills": 3}, {"requirements": None}) == ""
    huge = {"skills": ["x" * 500] * 15}
    assert len(summarize(huge, None)) <= MAX_CHARS
