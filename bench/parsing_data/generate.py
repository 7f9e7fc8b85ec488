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
from collections.abc import Callable
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


def _pdf(build: Callable[[Any], list[Any]]) -> bytes:
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import SimpleDocTemplate

    styles = getSampleStyleSheet()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=LETTER, invariant=1, leftMargin=50, rightMargin=50, topMargin=40,
        bottomMargin=40, title="Resume", author="",
    )  # fmt: skip
    document.build(build(styles))
    return buffer.getvalue()


def _bullets(items: list[str], styles: Any) -> Any:
    from reportlab.platypus import ListFlowable, ListItem, Paragraph

    return ListFlowable(
        [ListItem(Paragraph(item, styles["Normal"]), leftIndent=12) for item in items],
        bulletType="bullet",
        start="•",
        leftIndent=12,
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def classic_pdf(person: Resume, headings: dict[str, str], order: list[str]) -> bytes:
    """One column: name, a contact line, sections with title — company and dates."""
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    def build(styles: Any) -> list[Any]:
        normal = styles["Normal"]
        contact = " | ".join([person.email, person.phone, person.location, *person.links])
        story: list[Any] = [
            Paragraph(_esc(person.written_name or person.name), styles["Title"]),
            Paragraph(_esc(contact), styles["Normal"]),
            Spacer(1, 8),
        ]
        for section in order:
            story.append(Paragraph(headings[section], styles["Heading2"]))
            if section == "summary":
                story.append(Paragraph(_esc(person.summary), styles["Normal"]))
            elif section == "experience":
                for p in person.positions:
                    heading = Paragraph(f"<b>{_esc(p.title)}</b> — {_esc(p.company)}", normal)
                    row = Table([[heading, Paragraph(p.dates, normal)]], colWidths=[380, 130])
                    row.setStyle(TableStyle([("ALIGN", (1, 0), (1, 0), "RIGHT")]))
                    story.extend([row, _bullets([_esc(h) for h in p.highlights], styles)])
            elif section == "education":
                for s in person.schools:
                    story.append(
                        Paragraph(
                            f"{_esc(s.degree)}, {_esc(s.school)}, {s.dates}", styles["Normal"]
                        )
                    )
            elif section == "skills":
                for category, items in person.skills.items():
                    label = f"<b>{category}:</b> " if category else ""
                    story.append(Paragraph(label + _esc(", ".join(items)), styles["Normal"]))
            elif section == "achievements":
                story.append(_bullets([_esc(a) for a in person.achievements], styles))
        return story

    return _pdf(build)


def sidebar_pdf(person: Resume) -> bytes:
    """Two columns in a table: contact, skills and education left; the rest right."""
    from reportlab.platypus import Paragraph, Table, TableStyle

    def build(styles: Any) -> list[Any]:
        normal, small = styles["Normal"], styles["Heading4"]
        left: list[Any] = [Paragraph("CONTACT", small)]
        left += [
            Paragraph(_esc(x), normal)
            for x in [person.email, person.phone, person.location, *person.links]
        ]
        left.append(Paragraph("SKILLS", small))
        left += [Paragraph("• " + _esc(s), normal) for g in person.skills.values() for s in g]
        left.append(Paragraph("EDUCATION", small))
        for s in person.schools:
            left += [
                Paragraph(f"<b>{_esc(s.degree)}</b>", normal),
                Paragraph(_esc(s.school), normal),
                Paragraph(s.dates, normal),
            ]
        right: list[Any] = [Paragraph("PROFILE", small), Paragraph(_esc(person.summary), normal)]
        right.append(Paragraph("WORK HISTORY", small))
        for p in person.positions:
            right.append(Paragraph(f"<b>{_esc(p.company)}</b>", normal))
            right.append(Paragraph(f"{_esc(p.title)} | {p.dates}", normal))
            right.append(_bullets([_esc(h) for h in p.highlights], styles))
        right.append(Paragraph("AWARDS", small))
        right.append(_bullets([_esc(a) for a in person.achievements], styles))
        table = Table([[left, right]], colWidths=[170, 340])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return [Paragraph(_esc(person.name), styles["Title"]), table]

    return _pdf(build)


def career_pdf(person: Resume) -> bytes:
    """Company in capitals, then the title, then the dates on a line of their own;
    education first, under "Qualifications"; skills as "Areas of Expertise"."""
    from reportlab.platypus import Paragraph, Spacer

    def build(styles: Any) -> list[Any]:
        normal, head = styles["Normal"], styles["Heading3"]
        story: list[Any] = [
            Paragraph(_esc(person.written_name or person.name), styles["Title"]),
            Paragraph(_esc(person.location), normal),
            Paragraph(_esc(f"Tel: {person.phone}  ·  Email: {person.email}"), normal),
        ]
        story += [Paragraph(_esc(link), normal) for link in person.links]
        story += [Spacer(1, 6), Paragraph("Qualifications", head)]
        for s in person.schools:
            story.append(Paragraph(f"{s.dates}  {_esc(s.degree)} — {_esc(s.school)}", normal))
        story.append(Paragraph("Career History", head))
        for p in person.positions:
            story += [
                Paragraph(f"<b>{_esc(p.company.upper())}</b>", normal),
                Paragraph(_esc(p.title), normal),
                Paragraph(p.dates, normal),
                _bullets([_esc(h) for h in p.highlights], styles),
            ]
        story.append(Paragraph("Areas of Expertise", head))
        story.append(
            Paragraph(_esc(" | ".join(s for g in person.skills.values() for s in g)), normal)
        )
        story.append(Paragraph("Certifications", head))
        story.append(_bullets([_esc(a) for a in person.achievements], styles))
        return story

    return _pdf(build)


def compact_pdf(person: Resume) -> bytes:
    """Each position on one line: "Title, Company (dates)"; plain-text hyphen bullets."""
    from reportlab.platypus import Paragraph

    def build(styles: Any) -> list[Any]:
        normal, head = styles["Normal"], styles["Heading2"]
        story: list[Any] = [
            Paragraph(_esc(person.written_name or person.name), styles["Title"]),
            Paragraph(_esc(f"{person.location} • {person.phone} • {person.email}"), normal),
        ]
        story += [Paragraph(_esc(link), normal) for link in person.links]
        story += [Paragraph("Summary", head), Paragraph(_esc(person.summary), normal)]
        story.append(Paragraph("Employment History", head))
        for p in person.positions:
            story.append(
                Paragraph(f"<b>{_esc(p.title)}, {_esc(p.company)}</b> ({p.dates})", normal)
            )
            story += [Paragraph("- " + _esc(h), normal) for h in p.highlights]
        story.append(Paragraph("Education", head))
        for s in person.schools:
            story.append(Paragraph(f"{_esc(s.school)} — {_esc(s.degree)} ({s.dates})", normal))
        story.append(Paragraph("Key Skills", head))
        story.append(
            Paragraph(_esc(", ".join(s for g in person.skills.values() for s in g)), normal)
        )
        story.append(Paragraph("Honors &amp; Awards", head))
        story += [Paragraph("- " + _esc(a), normal) for a in person.achievements]
        return story

    return _pdf(build)


# DOCX layouts ---------------------------------------------------------------------------


def _docx(fill: Callable[[Any], None]) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.author = ""
    fill(document)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


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
            for h in p.highlights:
                document.add_paragraph(h, style="List Bullet")
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
        for a in person.achievements:
            document.add_paragraph(a, style="List Bullet")

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
        for group in person.skills.values():
            for skill in group:
                left.add_paragraph(skill, style="List Bullet")
        right.paragraphs[0].text = "Work Experience"
        for p in person.positions:
            right.add_paragraph(p.company)
            right.add_paragraph(f"{p.title}, {p.dates}")
            for h in p.highlights:
                right.add_paragraph(h, style="List Bullet")
        right.add_paragraph("Education")
        for s in person.schools:
            right.add_paragraph(f"{s.degree} | {s.school} | {s.dates}")
        right.add_paragraph("Achievements")
        for a in person.achievements:
            right.add_paragraph(a, style="List Bullet")

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
        for group in person.skills.values():
            for skill in group:
                document.add_paragraph(skill, style="List Bullet")
        document.add_heading("Employment", 1)
        for p in person.positions:
            document.add_paragraph(f"{p.company}\t{p.dates}")
            document.add_paragraph(p.title)
            for h in p.highlights:
                document.add_paragraph(h, style="List Bullet")
        document.add_heading("Qualifications", 1)
        for s in person.schools:
            document.add_paragraph(f"{s.degree}, {s.school} ({s.dates})")
        document.add_heading("Achievements", 1)
        for a in person.achievements:
            document.add_paragraph(a, style="List Bullet")

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
            for h in p.highlights:
                document.add_paragraph(h, style="List Bullet")
        for section, items in person.extra.items():
            document.add_heading(section, 2)
            for item in items:
                document.add_paragraph(item, style="List Bullet")
        document.add_heading("Skills", 2)
        for category, items in person.skills.items():
            document.add_paragraph(f"{category}: {' · '.join(items)}")
        document.add_heading("Education", 2)
        for s in person.schools:
            document.add_paragraph(f"{s.school}\t{s.dates}")
            document.add_paragraph(s.degree)
        document.add_heading("Awards", 2)
        for a in person.achievements:
            document.add_paragraph(a, style="List Bullet")

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
    line(" / ".join(sk for g in person.skills.values() for sk in g))
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
