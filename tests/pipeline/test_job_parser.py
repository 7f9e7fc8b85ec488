"""The offline job parser on postings as others write them: header layouts, headings
it has no list entry for, bullet kinds, and the skills a requirement asks for."""

from __future__ import annotations

import pytest

from pipeline.documents.job_parser import parse_job
from pipeline.documents.requirement_skills import requirement_skills

# Header layouts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "title", "company"),
    [
        (
            "Northwind Streaming is hiring a Staff Backend Engineer (Remote, EU time zones)",
            "Staff Backend Engineer",
            "Northwind Streaming",
        ),
        (
            "Ashgrove Foods is hiring a Financial Controller (Leicester, hybrid)",
            "Financial Controller",
            "Ashgrove Foods",
        ),
        (
            "Product Designer at Marlow Robotics (London, hybrid)",
            "Product Designer",
            "Marlow Robotics",
        ),
        ("Sous Chef at The Anchor & Oak (Bath)", "Sous Chef", "The Anchor & Oak"),
        (
            "Sales Development Representative — Orbitly",
            "Sales Development Representative",
            "Orbitly",
        ),
        (
            "Warehouse Team Lead (Nights) | Carrow Logistics | Norwich",
            "Warehouse Team Lead (Nights)",
            "Carrow Logistics",
        ),
        (
            "CDL-A Regional Truck Driver, Prairie Line Transport",
            "CDL-A Regional Truck Driver",
            "Prairie Line Transport",
        ),
        (
            "We are looking for a Machine Learning Engineer to join Quillfeather's search team.",
            "Machine Learning Engineer",
            "Quillfeather",
        ),
        (
            "Teaching Assistant - Year 2 - Oakfield Primary School",
            "Teaching Assistant",
            "Oakfield Primary School",
        ),
    ],
)
def test_a_one_line_header_gives_the_title_and_the_company(
    header: str, title: str, company: str
) -> None:
    parsed = parse_job(f"{header}\n\nRequirements\n- Python\n")
    assert (parsed.title, parsed.company) == (title, company)


def test_a_place_in_brackets_is_never_part_of_the_company() -> None:
    parsed = parse_job(
        "Senior UX Designer at Fernhill Bank (London, hybrid)\n\nYou have:\n- Figma\n"
    )
    assert parsed.company == "Fernhill Bank"


@pytest.mark.parametrize(
    ("text", "title", "company"),
    [
        # a title over its company's line, the place after it
        (
            "Charge Nurse – Emergency Department\nLakeside Regional Hospital (Madison, WI)\n",
            "Charge Nurse – Emergency Department",
            "Lakeside Regional Hospital",
        ),
        (
            "Journeyman Electrician\nKestrel Electric Co. — Phoenix, AZ\n",
            "Journeyman Electrician",
            "Kestrel Electric Co.",
        ),
        (
            "Product Manager, Growth\nAcorn Learning · Remote (UK/EU)\n",
            "Product Manager, Growth",
            "Acorn Learning",
        ),
        (
            "Teacher of Mathematics\nHarbourside Academy, Bristol\n",
            "Teacher of Mathematics",
            "Harbourside Academy",
        ),
        # past a label under the title
        (
            "Security Engineer II\nReq ID: 48213\nCobaltline Networks\n",
            "Security Engineer II",
            "Cobaltline Networks",
        ),
        # a company over its title
        (
            "Gullwing Outdoor\nContent Marketing Manager\nDenver, CO (Remote)\n",
            "Content Marketing Manager",
            "Gullwing Outdoor",
        ),
        # labels
        (
            "Job title: Assistant Hotel Manager\nOrganisation: Corran House Hotels\n",
            "Assistant Hotel Manager",
            "Corran House Hotels",
        ),
    ],
)
def test_headers_over_two_lines(text: str, title: str, company: str) -> None:
    parsed = parse_job(text + "\nRequirements\n- SQL\n")
    assert (parsed.title, parsed.company) == (title, company)


def test_a_header_that_is_a_paragraph_is_not_a_company_line() -> None:
    parsed = parse_job("Senior Backend Engineer — Globex\n\nAbout Globex\nWe build payments.\n")
    assert (parsed.title, parsed.company) == ("Senior Backend Engineer", "Globex")


# Headings and bullets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading",
    [
        "What you bring",
        "You have:",
        "Requirements",
        "Qualifications",
        "You might be a fit if you have:",
        "What we need from you",
        "Person specification",
        "WHAT YOU NEED",
        "You are:",
    ],
)
def test_requirement_headings(heading: str) -> None:
    parsed = parse_job(f"Data Engineer – Acme\n\n{heading}\n- Strong SQL\n- Airflow\n")
    assert parsed.requirements == ["Strong SQL", "Airflow"]


@pytest.mark.parametrize("bullet", ["•", "*", "-", "→", "✅", "–", "1.", "2)"])
def test_bullet_kinds(bullet: str) -> None:
    text = f"Data Engineer – Acme\n\nRequirements\n{bullet} Dagster\n{bullet} Strong SQL\n"
    parsed = parse_job(text)
    assert parsed.requirements == ["Dagster", "Strong SQL"]
    assert parsed.skills[:2] == ["Dagster", "SQL"]


def test_duties_do_not_turn_into_requirements() -> None:
    parsed = parse_job(
        "Data Engineer – Acme\n\nWhat you'll do\n- Build pipelines\n\n"
        "What you'll need\n- Python\n\nWe offer: $60/hr, a pension\n"
    )
    assert parsed.responsibilities == ["Build pipelines"]
    assert parsed.requirements == ["Python"]


# Skills -----------------------------------------------------------------------------------


def test_the_issue_s_nursing_posting_finds_its_domain_skills() -> None:
    parsed = parse_job(
        "Charge Nurse – Emergency Department\nLakeside Regional Hospital (Madison, WI)\n\n"
        "Requirements\n"
        "• Current Wisconsin nursing license (RN)\n"
        "• BLS, ACLS and PALS certification\n"
        "• Experience with Epic EHR and clinical workflows\n"
        "• Training and precepting new staff\n"
    )
    assert parsed.skills == [
        "Wisconsin nursing license",
        "BLS",
        "ACLS",
        "PALS",
        "Epic",
        "clinical workflows",
        "Training",
    ]


@pytest.mark.parametrize(
    ("requirement", "skills"),
    [
        ("Experience building and maintaining design systems", ["design systems"]),
        ("Strong visual and interaction design", ["visual design", "interaction design"]),
        ("8+ years building distributed systems", ["Distributed Systems"]),
        ("Clear written communication", ["Communication"]),
        ("Qualified Teacher Status (QTS) or equivalent", ["Qualified Teacher Status"]),
        ("Series 7 and Series 66 licenses", ["Series 7 licenses", "Series 66 licenses"]),
        ("BLS and ACLS certifications required; CCRN preferred", ["BLS", "ACLS", "CCRN"]),
        ("Level 3 Food Safety certificate", ["Food Safety"]),
        ("ACA, ACCA or CIMA qualified", ["ACA", "ACCA", "CIMA"]),
        ("Valid Class A CDL", ["Class A CDL"]),
        ("OSHA 10 certification", ["OSHA 10"]),
        ("3+ years in security operations", ["security operations"]),
        ("Experienced on espresso machines and grinders", ["espresso machines", "grinders"]),
        ("Bilingual (English/French) is an asset", ["English", "French"]),
        ("Dutch is a plus", ["Dutch"]),
        ("Strong knowledge of IFRS and UK GAAP", ["IFRS", "GAAP"]),
        # nothing a candidate could be asked about
        ("A calm head on busy nights", []),
        ("Own hand tools and reliable transportation", []),
        ("$26–$31/hr plus overtime", []),
    ],
)
def test_requirement_skills(requirement: str, skills: list[str]) -> None:
    assert requirement_skills(requirement) == skills


def test_the_company_s_own_name_is_not_a_skill() -> None:
    parsed = parse_job(
        "Staff Accountant\nBrightline Logistics, Inc. | Atlanta, GA\n\n"
        "Brightline Logistics moves freight.\n\nRequirements\n- Working knowledge of GAAP\n"
    )
    assert parsed.company == "Brightline Logistics, Inc."
    assert parsed.skills == ["GAAP"]


def test_a_skill_named_in_a_requirement_phrase_is_not_repeated_from_the_duties() -> None:
    parsed = parse_job(
        "Data Scientist – Acme\n\nWhat you'll do\n- Demand forecasting\n\n"
        "You have\n- Time series forecasting experience\n"
    )
    assert parsed.skills == ["Time series forecasting"]
