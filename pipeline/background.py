"""A short summary of the candidate's resume and the target job, for the interviewer.

Only what helps ask good questions goes in: roles, skills, achievements, the job's
requirements. Contact details never do (and the prompt's redaction step removes any that
slip through inside free text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_ITEMS = 8
MAX_CHARS = 2_000


def _items(values: Any, limit: int = MAX_ITEMS) -> list[str]:
    if not isinstance(values, Sequence) or isinstance(values, str):
        return []
    return [str(value).strip() for value in values if str(value).strip()][:limit]


def _role(entry: Mapping[str, Any]) -> str:
    title = str(entry.get("title") or "").strip()
    company = str(entry.get("company") or "").strip()
    start, end = entry.get("start"), entry.get("end")
    when = f" ({start}–{end or 'present'})" if start else ""
    role = " at ".join(part for part in (title, company) if part)
    return f"{role}{when}" if role else ""


def summarize(resume: Mapping[str, Any] | None, job: Mapping[str, Any] | None) -> str:
    """The background paragraph given to the interviewer; empty when there is nothing."""
    lines: list[str] = []
    if resume:
        roles = [
            _role(entry) for entry in resume.get("experience") or [] if isinstance(entry, Mapping)
        ]
        roles = [role for role in roles if role][:5]
        if roles:
            lines.append("Candidate's roles: " + "; ".join(roles) + ".")
        highlights = [
            highlight
            for entry in resume.get("experience") or []
            if isinstance(entry, Mapping)
            for highlight in _items(entry.get("highlights"), 2)
        ][:5]
        if highlights:
            lines.append("Highlights: " + " ".join(h.rstrip(".") + "." for h in highlights))
        if skills := _items(resume.get("skills"), 15):
            lines.append("Candidate's skills: " + ", ".join(skills) + ".")
        if achievements := _items(resume.get("achievements"), 4):
            lines.append("Achievements: " + " ".join(a.rstrip(".") + "." for a in achievements))
    if job:
        target = " at ".join(
            part for part in (str(job.get("title") or ""), str(job.get("company") or "")) if part
        )
        if target:
            lines.append(f"Target job: {target}.")
        if requirements := _items(job.get("requirements")):
            lines.append("Job requirements: " + "; ".join(requirements) + ".")
        if responsibilities := _items(job.get("responsibilities"), 5):
            lines.append("Responsibilities: " + "; ".join(responsibilities) + ".")
    return "\n".join(lines)[:MAX_CHARS]
