"""Writes the parsing benchmark's documents and their ground truth.

    python -m bench.parsing_data.generate

Twelve resumes (PDF with reportlab, DOCX with python-docx) in several layouts: one column,
a two-column sidebar table, a DOCX table, the name in a DOCX page header, text drawn line
by line on a canvas; sections named and ordered differently; dates written many ways.
Beside each, ``<name>.json`` holds what a careful reader would take from it (the people
are in ``people.py``). Four job descriptions (plain text, as pasted, in ``job_texts.py``)
with theirs. The files are committed so that the benchmark reads the same bytes
everywhere; run this again only to change the set.

Ground truth conventions: dates of positions are ``YYYY-MM``, ``YYYY`` or ``present``;
names as a person would write them (an all-capitals name in title case).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.parsing_data.job_texts import JOB_FILES
from bench.parsing_data.people import (
    AIKO,
    DAVID,
    ELENA,
    GRACE,
    JAMES,
    LUCAS,
    MARCUS,
    NADIA,
    OMAR,
    PRIYA,
    SOFIA,
    TOMAS,
    Resume,
)

HERE = Path(__file__).resolve().parent
RESUMES = HERE / "resumes"
JOBS = HERE / "jobs"


# PDF layouts ----------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bold(text: str) -> str:
    return f"<b>{_esc(text)}</b>"


def _skills(person: Resume) -> list[str]:
    """Every skill, without its category, in the order written."""
    return [skill for group in person.skills.values() for skill in group]


class _Story:
    """A PDF layout's flowables, added a paragraph at a time as python-docx adds them to a
    document. Text is escaped for reportlab's markup; ``add_markup`` takes markup."""

    def __init__(self, heading_style: str = "Heading2") -> None:
        from reportlab.lib.styles import getSampleStyleSheet

        self.styles = getSampleStyleSheet()
        self.heading_style = heading_style
        self.flowables: list[Any] = []

    def add_markup(self, markup: str, style: str = "Normal") -> None:
        from reportlab.platypus import Paragraph

        self.flowables.append(Paragraph(markup, self.styles[style]))

    def add(self, text: str, style: str = "Normal") -> None:
        self.add_markup(_esc(text), style)

    def lines(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)

    def title(self, text: str) -> None:
        self.add(text, "Title")

    def heading(self, text: str) -> None:
        self.add(text, self.heading_style)

    def bullets(self, items: list[str]) -> None:
        from reportlab.platypus import ListFlowable, ListItem, Paragraph

        normal = self.styles["Normal"]
        self.flowables.append(
            ListFlowable(
                [ListItem(Paragraph(_esc(item), normal), leftIndent=12) for item in items],
                bulletType="bullet",
                start="•",
                leftIndent=12,
            )
        )

    def space(self, height: float) -> None:
        from reportlab.platypus import Spacer

        self.flowables.append(Spacer(1, height))

    def pdf(self) -> bytes:
        from reportlab.lib.pagesizes import LETTER
        from reportlab.platypus import SimpleDocTemplate

        buffer = BytesIO()
        document = SimpleDocTemplate(
            buffer, pagesize=LETTER, invariant=1, leftMargin=50, rightMargin=50, topMargin=40,
            bottomMargin=40, title="Resume", author="",
        )  # fmt: skip
        document.build(self.flowables)
        return buffer.getvalue()


def classic_pdf(person: Resume, headings: dict[str, str], order: list[str]) -> bytes:
    """One column: name, a contact line, sections with title — company and dates."""
    from reportlab.platypus import Paragraph, Table, TableStyle

    story = _Story()
    story.title(person.written_name or person.name)
    story.add(" | ".join([person.email, person.phone, person.location, *person.links]))
    story.space(8)
    normal = story.styles["Normal"]
    for section in order:
        story.heading(headings[section])
        if section == "summary":
            story.add(person.summary)
        elif section == "experience":
            for p in person.positions:
                heading = Paragraph(f"{_bold(p.title)} — {_esc(p.company)}", normal)
                row = Table([[heading, Paragraph(_esc(p.dates), normal)]], colWidths=[380, 130])
                row.setStyle(TableStyle([("ALIGN", (1, 0), (1, 0), "RIGHT")]))
                story.flowables.append(row)
                story.bullets(p.highlights)
        elif section == "education":
            story.lines(f"{s.degree}, {s.school}, {s.dates}" for s in person.schools)
        elif section == "skills":
            for category, items in person.skills.items():
                label = f"<b>{category}:</b> " if category else ""
                story.add_markup(label + _esc(", ".join(items)))
        elif section == "achievements":
            story.bullets(person.achievements)
    return story.pdf()


def sidebar_pdf(person: Resume) -> bytes:
    """Two columns in a table: contact, skills and education left; the rest right."""
    from reportlab.platypus import Table, TableStyle

    left, right = _Story("Heading4"), _Story("Heading4")
    left.heading("CONTACT")
    left.lines([person.email, person.phone, person.location, *person.links])
    left.heading("SKILLS")
    left.lines("• " + skill for skill in _skills(person))
    left.heading("EDUCATION")
    for s in person.schools:
        left.add_markup(_bold(s.degree))
        left.lines([s.school, s.dates])
    right.heading("PROFILE")
    right.add(person.summary)
    right.heading("WORK HISTORY")
    for p in person.positions:
        right.add_markup(_bold(p.company))
        right.add(f"{p.title} | {p.dates}")
        right.bullets(p.highlights)
    right.heading("AWARDS")
    right.bullets(person.achievements)
    table = Table([[left.flowables, right.flowables]], colWidths=[170, 340])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    page = _Story()
    page.title(person.name)
    page.flowables.append(table)
    return page.pdf()


def career_pdf(person: Resume) -> bytes:
    """Company in capitals, then the title, then the dates on a line of their own;
    education first, under "Qualifications"; skills as "Areas of Expertise"."""
    story = _Story("Heading3")
    story.title(person.written_name or person.name)
    story.lines([person.location, f"Tel: {person.phone}  ·  Email: {person.email}"])
    story.lines(person.links)
    story.space(6)
    story.heading("Qualifications")
    story.lines(f"{s.dates}  {s.degree} — {s.school}" for s in person.schools)
    story.heading("Career History")
    for p in person.positions:
        story.add_markup(_bold(p.company.upper()))
        story.lines([p.title, p.dates])
        story.bullets(p.highlights)
    story.heading("Areas of Expertise")
    story.add(" | ".join(_skills(person)))
    story.heading("Certifications")
    story.bullets(person.achievements)
    return story.pdf()


def compact_pdf(person: Resume) -> bytes:
    """Each position on one line: "Title, Company (dates)"; plain-text hyphen bullets."""
    story = _Story()
    story.title(person.written_name or person.name)
    story.add(f"{person.location} • {person.phone} • {person.email}")
    story.lines(person.links)
    story.heading("Summary")
    story.add(person.summary)
    story.heading("Employment History")
    for p in person.positions:
        story.add_markup(f"<b>{_esc(p.title)}, {_esc(p.company)}</b> ({_esc(p.dates)})")
        story.lines("- " + h for h in p.highlights)
    story.heading("Education")
    story.lines(f"{s.school} — {s.degree} ({s.dates})" for s in person.schools)
    story.heading("Key Skills")
    story.add(", ".join(_skills(person)))
    story.heading("Honors & Awards")
    story.lines("- " + a for a in person.achievements)
    return story.pdf()


# DOCX layouts ---------------------------------------------------------------------------


def _docx(fill: Callable[[Any], None]) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.author = ""
    fill(document)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _bullet_list(container: Any, items: Iterable[str]) -> None:
    """A paragraph in Word's "List Bullet" style per item, in a document or a table cell."""
    for item in items:
        container.add_paragraph(item, style="List Bullet")


def modern_docx(person: Resume) -> bytes:
    """Word headings and list bullets; a tab between the title line and its dates."""

    def fill(document: Any) -> None:
        document.add_heading(person.name, 0)
        document.add_paragraph(f"{person.location} | {person.phone} | {person.email}")
        for link in person.links:
            document.add_paragraph(link)
        document.add_heading("Professional Experience", 1)
        for p in person.positions:
            document.add_paragraph(f"{p.title} — {p.company}\t{p.dates}")
            _bullet_list(document, p.highlights)
        document.add_heading("Technical Skills", 1)
        for category, items in person.skills.items():
            document.add_paragraph(
                f"{category}: {', '.join(items)}" if category else ", ".join(items)
            )
        document.add_heading("Education", 1)
        for s in person.schools:
            document.add_paragraph(f"{s.degree}\t{s.dates}")
            document.add_paragraph(s.school)
        document.add_heading("Honors & Awards", 1)
        _bullet_list(document, person.achievements)

    return _docx(fill)


def table_docx(person: Resume) -> bytes:
    """A two-column table: contact and skills left, experience and education right."""

    def fill(document: Any) -> None:
        document.add_heading(person.name, 0)
        table = document.add_table(rows=1, cols=2)
        left, right = table.rows[0].cells
        left.paragraphs[0].text = "Contact"
        for value in [person.phone, person.email, person.location, *person.links]:
            left.add_paragraph(value)
        left.add_paragraph("Skills")
        _bullet_list(left, _skills(person))
        right.paragraphs[0].text = "Work Experience"
        for p in person.positions:
            right.add_paragraph(p.company)
            right.add_paragraph(f"{p.title}, {p.dates}")
            _bullet_list(right, p.highlights)
        right.add_paragraph("Education")
        for s in person.schools:
            right.add_paragraph(f"{s.degree} | {s.school} | {s.dates}")
        right.add_paragraph("Achievements")
        _bullet_list(right, person.achievements)

    return _docx(fill)


def header_docx(person: Resume) -> bytes:
    """Name and contact details in the page header; "Employment" and "Qualifications"."""

    def fill(document: Any) -> None:
        header = document.sections[0].header
        header.paragraphs[0].text = person.name
        header.add_paragraph(f"{person.email}  ·  {person.phone}  ·  {person.location}")
        for link in person.links:
            header.add_paragraph(link)
        document.add_heading("Profile", 1)
        document.add_paragraph(person.summary)
        document.add_heading("Skills", 1)
        _bullet_list(document, _skills(person))
        document.add_heading("Employment", 1)
        for p in person.positions:
            document.add_paragraph(f"{p.company}\t{p.dates}")
            document.add_paragraph(p.title)
            _bullet_list(document, p.highlights)
        document.add_heading("Qualifications", 1)
        for s in person.schools:
            document.add_paragraph(f"{s.degree}, {s.school} ({s.dates})")
        document.add_heading("Achievements", 1)
        _bullet_list(document, person.achievements)

    return _docx(fill)


def roles_docx(person: Resume) -> bytes:
    """Bold company lines with several roles under one company; a "Projects" section
    with dates of its own (projects are not positions)."""

    def fill(document: Any) -> None:
        title = document.add_paragraph()
        title.add_run(person.name).bold = True
        document.add_paragraph(f"{person.email} | {person.phone} | {person.location}")
        document.add_paragraph(" | ".join(person.links))
        document.add_heading("Summary", 2)
        document.add_paragraph(person.summary)
        document.add_heading("Experience", 2)
        previous = ""
        for p in person.positions:
            if p.company != previous:
                document.add_paragraph().add_run(p.company).bold = True
                previous = p.company
            document.add_paragraph(f"{p.title}\t{p.dates}")
            _bullet_list(document, p.highlights)
        for section, items in person.extra.items():
            document.add_heading(section, 2)
            _bullet_list(document, items)
        document.add_heading("Skills", 2)
        for category, items in person.skills.items():
            document.add_paragraph(f"{category}: {' · '.join(items)}")
        document.add_heading("Education", 2)
        for s in person.schools:
            document.add_paragraph(f"{s.school}\t{s.dates}")
            document.add_paragraph(s.degree)
        document.add_heading("Awards", 2)
        _bullet_list(document, person.achievements)

    return _docx(fill)


def plain_pdf(person: Resume) -> bytes:
    """Text drawn line by line on a canvas (as some generators do): letter-spaced
    headings, "Title at Company", hyphen bullets, a skills line with slashes."""
    from reportlab.pdfgen import canvas

    buffer = BytesIO()
    page = canvas.Canvas(buffer, invariant=1)
    y = 800.0

    def line(text: str, size: int = 10, x: float = 60) -> None:
        nonlocal y
        page.setFont("Helvetica", size)
        page.drawString(x, y, text)
        y -= size + 6

    def heading(text: str) -> None:
        line("")
        line(" ".join(text.upper()), 11)

    line(person.name, 16)
    line(f"{person.phone}   {person.email}")
    line(f"{person.location}   {person.links[0]}")
    heading("Experience")
    for p in person.positions:
        line(f"{p.title} at {p.company}")
        line(p.dates)
        for h in p.highlights:
            line(f"- {h}", x=70)
    heading("Education")
    for s in person.schools:
        line(f"{s.degree} - {s.school} - {s.dates}")
    heading("Skills")
    line(" / ".join(_skills(person)))
    heading("Certifications")
    for a in person.achievements:
        line(f"- {a}", x=70)
    page.showPage()
    page.save()
    return buffer.getvalue()


CLASSIC_HEADINGS = {
    "summary": "SUMMARY",
    "experience": "EXPERIENCE",
    "education": "EDUCATION",
    "skills": "SKILLS",
    "achievements": "ACHIEVEMENTS",
}
OTHER_HEADINGS = {
    "summary": "Professional Summary",
    "experience": "Work Experience",
    "education": "Academic Background",
    "skills": "Core Competencies",
    "achievements": "Awards",
}

RESUME_FILES: dict[str, tuple[Resume, Callable[[], bytes]]] = {
    "01_classic.pdf": (
        PRIYA,
        lambda: classic_pdf(
            PRIYA,
            CLASSIC_HEADINGS,
            ["summary", "experience", "education", "skills", "achievements"],
        ),
    ),
    "02_sidebar.pdf": (MARCUS, lambda: sidebar_pdf(MARCUS)),
    "03_modern.docx": (ELENA, lambda: modern_docx(ELENA)),
    "04_table.docx": (JAMES, lambda: table_docx(JAMES)),
    "05_compact.pdf": (AIKO, lambda: compact_pdf(AIKO)),
    "06_header.docx": (DAVID, lambda: header_docx(DAVID)),
    "07_career.pdf": (SOFIA, lambda: career_pdf(SOFIA)),
    "08_reordered.pdf": (
        TOMAS,
        lambda: classic_pdf(
            TOMAS, OTHER_HEADINGS, ["skills", "education", "experience", "achievements"]
        ),
    ),
    "09_sidebar.pdf": (GRACE, lambda: sidebar_pdf(GRACE)),
    "10_modern.docx": (OMAR, lambda: modern_docx(OMAR)),
    "11_roles.docx": (NADIA, lambda: roles_docx(NADIA)),
    "12_plain.pdf": (LUCAS, lambda: plain_pdf(LUCAS)),
}


def main() -> None:
    RESUMES.mkdir(parents=True, exist_ok=True)
    JOBS.mkdir(parents=True, exist_ok=True)
    for name, (person, render) in RESUME_FILES.items():
        data = render()
        (RESUMES / name).write_bytes(data)
        truth = RESUMES / f"{Path(name).stem}.json"
        truth.write_text(json.dumps(person.truth(), indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {len(data) // 1024} KB")
    for name, (text, truth_data) in JOB_FILES.items():
        (JOBS / name).write_text(text)
        (JOBS / f"{Path(name).stem}.json").write_text(
            json.dumps(truth_data, indent=2, ensure_ascii=False) + "\n"
        )
    print(f"wrote {len(RESUME_FILES)} resumes and {len(JOB_FILES)} job descriptions")


if __name__ == "__main__":
    main()
