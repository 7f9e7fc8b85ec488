"""Reading uploaded files, the heuristic parsers, and LLM parsing with its fallback."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.documents.extract import MAX_PDF_PAGES, extract_text, normalize, sniff
from pipeline.documents.job_parser import parse_job
from pipeline.documents.llm import LlmDocumentParser
from pipeline.documents.parser import DocumentParser
from pipeline.documents.reading import find_range, normalize_date, read_lines
from pipeline.documents.resume_parser import parse_resume
from pipeline.documents.skills import find_skills
from pipeline.documents.types import DocumentError, JobData, ResumeData
from pipeline.llm.schema import strict_schema
from pipeline.llm.scripted import ScriptedJsonChat
from pipeline.llm.sdk import SdkChat
from pipeline.llm.types import LlmCallError, LlmParseError
from tests.documents import (
    corrupt_docx,
    encrypted_pdf,
    image_only_pdf,
    make_docx,
    pdf,
    zip_bomb_docx,
)
from tests.fakes.openai_compat import run_fake_openai

# Extraction -------------------------------------------------------------------------------


def test_pdf_and_docx_are_told_apart_by_their_bytes_and_read() -> None:
    for data, kind in ((pdf(), "pdf"), (make_docx(), "docx")):
        extracted = extract_text(data)
        assert extracted.kind == kind
        lines = extracted.text.split("\n")
        assert lines[0] == "Ada Lovelace"
        assert "• Mentored four engineers" in lines
    assert extract_text(pdf()).pages == 1


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: b"", 422, "empty_file"),
        (lambda: b"Dear hiring manager, this is not a PDF.", 415, "unsupported_file_type"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, 415, "unsupported_file_type"),
        (lambda: b"%PDF-1.7\n% nothing after the header", 422, "unreadable_document"),
        (encrypted_pdf, 422, "encrypted_pdf"),
        (lambda: pdf(["page"], pages=MAX_PDF_PAGES + 1), 422, "too_many_pages"),
        (image_only_pdf, 422, "no_text"),
        (corrupt_docx, 422, "unreadable_document"),
        (zip_bomb_docx, 422, "unsafe_docx"),
        (lambda: b"PK\x03\x04" + b"\0" * 64, 422, "unreadable_document"),
        (lambda: b"%PDF-1.4\n" + b"\0" * (10 * 2**20), 413, "file_too_large"),
    ],
    ids=[
        "empty",
        "text-named-pdf",
        "legacy-doc",
        "truncated-pdf",
        "encrypted",
        "too-many-pages",
        "image-only",
        "corrupt-docx",
        "zip-bomb",
        "zip-garbage",
        "too-large",
    ],
)
def test_bad_files_are_refused_with_a_code(make, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DocumentError) as refused:
        extract_text(make())
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_pdf_locked_only_for_editing_is_read() -> None:
    assert extract_text(encrypted_pdf(user_password="")).text.startswith("Ada Lovelace")


def test_a_zip_that_is_not_a_word_document_is_unsupported() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(DocumentError) as refused:
        extract_text(buffer.getvalue())
    assert refused.value.code == "unsupported_file_type"
    assert sniff(buffer.getvalue()) == "docx"  # the magic alone cannot tell; the check can


def test_normalize_unifies_bullets_spaces_and_columns() -> None:
    text = "Name\u00a0 Here\r\n\x7f first\n\n\n\uf0b7\tsecond\nTitle\tJan 2020 – Present\u200b"
    assert normalize(text) == "Name Here\n• first\n\n• second\nTitle | Jan 2020 – Present"


# Reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("Jan 2020 – Present", "2020-01", "present"),
        ("September 2017 - March 2020", "2017-09", "2020-03"),
        ("2018-2021", "2018", "2021"),
        ("03/2019 – 11/2022", "2019-03", "2022-11"),
        ("2020/03 - Current", "2020-03", "present"),
        ("Sept. 2019 to Aug. 2021", "2019-09", "2021-08"),
        ("Summer 2019 – Fall 2019", "2019", "2019"),
        ("since 2021", "2021", "present"),
    ],
)
def test_date_ranges_are_found_and_normalized(written: str, start: str, end: str) -> None:
    found = find_range(f"Engineer, Acme ({written})")
    assert found is not None
    assert found[:2] == (start, end)


def test_phone_numbers_and_plain_numbers_are_not_date_ranges() -> None:
    assert find_range("(555) 123-4567") is None
    assert find_range("Raised $1,500-2,000 per event") is None
    assert normalize_date("13/2020") == "2020"


def test_wrapped_lines_and_lone_bullets_are_joined() -> None:
    lines = read_lines(
        "•\nLed the migration of the ledger service to event sourcing, cutting\n"
        "reconciliation time by 90%\nHarvard Graduate School of\nEducation\nPython\npandas"
    )
    assert [line.text for line in lines] == [
        "Led the migration of the ledger service to event sourcing, cutting "
        "reconciliation time by 90%",
        "Harvard Graduate School of Education",
        "Python",
        "pandas",
    ]
    assert lines[0].bullet and not lines[1].bullet


# Heuristic resume parser ------------------------------------------------------------------


def test_resume_sections_contacts_positions_schools_and_skills() -> None:
    parsed = parse_resume(extract_text(make_docx()).text)
    assert parsed.personal.model_dump() == {
        "name": "Ada Lovelace",
        "email": "ada.lovelace@example.org",
        "phone": "(555) 010-0199",
        "location": "London, UK",
        "links": ["github.com/ada"],
    }
    assert [(e.title, e.company, e.start, e.end) for e in parsed.experience] == [
        ("Senior Software Engineer", "Analytical Engines Ltd", "2020-01", "present"),
        ("Software Engineer", "Babbage & Co", "2016", "2019"),
    ]
    assert parsed.experience[0].highlights == [
        "Built the difference engine's scheduler in Python",
        "Mentored four engineers",
    ]
    assert [(e.degree, e.school) for e in parsed.education] == [
        ("B.Sc. Mathematics", "University of London")
    ]
    assert parsed.skills == ["Python", "Go", "PostgreSQL", "Kubernetes"]
    assert parsed.achievements == ["Royal Society Medal, 2021"]


def test_company_first_layouts_and_roles_under_one_company() -> None:
    text = "\n".join(
        [
            "JANE ROE",
            "jane@example.com",
            "Work History",
            "Globex Corporation",
            "Staff Engineer | 2021 – Present",
            "• Led the platform team",
            "Senior Engineer | 2018 – 2021",
            "• Built the billing system",
            "Initech 2015 – 2018",
            "QA Analyst",
            "• Tested everything",
            "Education & Training",
            "Stanford University",
            "MBA, 2014",
            "B.A. Economics",
            "Wellesley College",
            "Skills: Excel; SQL | Tableau",
            "BI — Looker, Power BI",
        ]
    )
    parsed = parse_resume(text)
    assert parsed.personal.name == "Jane Roe"
    assert [(e.title, e.company, e.start) for e in parsed.experience] == [
        ("Staff Engineer", "Globex Corporation", "2021"),
        ("Senior Engineer", "Globex Corporation", "2018"),
        ("QA Analyst", "Initech", "2015"),
    ]
    assert [(e.degree, e.school) for e in parsed.education] == [
        ("MBA", "Stanford University"),
        ("B.A. Economics", "Wellesley College"),
    ]
    assert parsed.skills == ["Excel", "SQL", "Tableau", "Looker", "Power BI"]


def test_positions_without_dates_are_split_at_their_headers() -> None:
    parsed = parse_resume(
        "Experience\nAcme Corp\nEngineer\n• Did a\n• Did b\nGlobex\nData Analyst\n• Did c"
    )
    assert [(e.title, e.company, e.highlights) for e in parsed.experience] == [
        ("Engineer", "Acme Corp", ["Did a", "Did b"]),
        ("Data Analyst", "Globex", ["Did c"]),
    ]


def test_a_resume_without_a_skills_section_gets_the_skills_it_names() -> None:
    parsed = parse_resume("Sam Doe\nsam@example.com\nI build services in Python and Go on AWS.")
    assert parsed.skills == ["Python", "Go", "AWS"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_the_parsers_take_any_text(text: str) -> None:
    assert isinstance(parse_resume(text), ResumeData)
    assert isinstance(parse_job(text), JobData)


# Heuristic job parser ---------------------------------------------------------------------


def test_job_description_sections_title_company_and_skills() -> None:
    parsed = parse_job(
        "Senior Backend Engineer at Globex\n\n"
        "About Globex\nWe move money.\n\n"
        "What you’ll do:\n- Build APIs in Go\n- Run them on Kubernetes\n\n"
        "Requirements\n• 5+ years with Python or Go\n• PostgreSQL\n\nBenefits\n• Lunch\n"
    )
    assert (parsed.title, parsed.company) == ("Senior Backend Engineer", "Globex")
    assert parsed.responsibilities == ["Build APIs in Go", "Run them on Kubernetes"]
    assert parsed.requirements == ["5+ years with Python or Go", "PostgreSQL"]
    # What the requirements ask for comes first, then the names found elsewhere.
    assert parsed.skills == ["Python", "Go", "PostgreSQL", "Kubernetes"]


def test_labelled_fields_and_paragraph_sections() -> None:
    parsed = parse_job(
        "Job Title: Data Analyst\nCompany: Northwind\n\nResponsibilities\n"
        "Build dashboards. Answer questions with SQL.\n"
    )
    assert (parsed.title, parsed.company) == ("Data Analyst", "Northwind")
    assert parsed.responsibilities == ["Build dashboards.", "Answer questions with SQL."]


def test_ambiguous_skill_names_need_to_be_written_as_names() -> None:
    assert find_skills("We go beyond. Our Series C round closed.") == []
    assert find_skills("Experience in R, C and Go; Rust or Swift.") == [
        "R",
        "C",
        "Go",
        "Rust",
        "Swift",
    ]
    assert find_skills("postgres, k8s and node.js") == ["PostgreSQL", "Kubernetes", "Node.js"]


# LLM parsing ------------------------------------------------------------------------------

RESUME_TEXT = (
    "Ada Lovelace\nada@example.org | +44 20 7946 0958\nEXPERIENCE\nEngineer, Babbage (2016 - 2019)"
)
LLM_RESUME = ResumeData.model_validate(
    {
        "personal": {"name": "Ada King", "email": "[email]", "phone": "[phone]"},
        "experience": [{"title": "Engineer", "company": "Babbage", "start": "2016", "end": "2019"}],
        "skills": ["Mathematics"],
    }
)


def test_strict_schema_requires_every_property_and_allows_no_others() -> None:
    schema = strict_schema(ResumeData)
    assert "$defs" not in json.dumps(schema)

    def objects(node: object) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            for value in node.values():
                found.extend(objects(value))
        elif isinstance(node, list):
            for item in node:
                found.extend(objects(item))
        return found

    assert len(objects(schema)) == 4  # resume, personal, experience, education
    for node in objects(schema):
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])  # type: ignore[call-overload]


async def test_the_llm_gets_redacted_text_and_contact_details_come_from_the_rules() -> None:
    chat = ScriptedJsonChat([LLM_RESUME.model_dump_json()], model="m1")
    parsed = await DocumentParser(LlmDocumentParser(chat)).parse_resume(RESUME_TEXT)
    assert parsed.source == "llm:m1"
    assert parsed.data.personal.name == "Ada King"  # the model's reading of the name
    assert parsed.data.personal.email == "ada@example.org"
    assert parsed.data.personal.phone == "+44 20 7946 0958"
    sent = chat.requests[0][1]["content"]
    assert "ada@example.org" not in sent and "7946" not in sent and "[email]" in sent


async def test_an_invalid_answer_is_retried_once_with_the_reason() -> None:
    chat = ScriptedJsonChat(['{"experience": "not a list"}', LLM_RESUME.model_dump_json()])
    parsed = await LlmDocumentParser(chat).parse_resume(RESUME_TEXT)
    assert parsed.experience[0].company == "Babbage"
    assert len(chat.requests) == 2
    assert "experience" in chat.requests[1][-1]["content"]
    assert "Babbage" not in chat.requests[1][-1]["content"]  # the reason names no content


async def test_two_failures_fall_back_to_the_heuristic_parser(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = ScriptedJsonChat([LlmCallError("APIConnectionError"), "not json"])
    with pytest.raises(LlmParseError):
        await LlmDocumentParser(chat).parse_resume(RESUME_TEXT)
    chat = ScriptedJsonChat([LlmCallError("APIConnectionError"), "not json"])
    parsed = await DocumentParser(LlmDocumentParser(chat)).parse_resume(RESUME_TEXT)
    assert parsed.source == "heuristic"
    assert parsed.data.experience[0].company == "Babbage"
    assert "ada@example.org" not in caplog.text and "Lovelace" not in caplog.text


async def test_job_parsing_through_the_openai_sdk_asks_for_json_schema_output() -> None:
    answer = JobData(title="Data Analyst", company="Northwind", skills=["SQL"])
    async with run_fake_openai(replies=[answer.model_dump_json()]) as fake:
        chat = SdkChat.openai(
            api_key=fake.api_key, base_url=fake.openai_base_url, model="gpt-4o-mini", timeout_s=5
        )
        parser = DocumentParser(LlmDocumentParser(chat))
        try:
            parsed = await parser.parse_job("Data Analyst at Northwind. SQL daily.")
        finally:
            await parser.aclose()
    assert parsed.source == "llm:gpt-4o-mini"
    assert parsed.data == answer
    body = fake.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["temperature"] == 0


async def test_a_failing_provider_means_the_heuristic_result() -> None:
    async with run_fake_openai() as fake:
        fake.fail_next = 2
        chat = SdkChat.openai(
            api_key=fake.api_key, base_url=fake.openai_base_url, model="gpt-4o-mini", timeout_s=5
        )
        parser = DocumentParser(LlmDocumentParser(chat))
        try:
            parsed = await parser.parse_job("Job Title: Nurse\nCompany: Mercy\n")
        finally:
            await parser.aclose()
    assert (parsed.source, parsed.data.title, parsed.data.company) == (
        "heuristic",
        "Nurse",
        "Mercy",
    )
    assert len(fake.requests) == 2


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([b"", b"%PDF-1.4\n", b"PK\x03\x04", pdf()[:200], make_docx()[:300]]),
    st.binary(max_size=600),
)
def test_any_bytes_are_read_or_refused_with_a_code(prefix: bytes, tail: bytes) -> None:
    try:
        extracted = extract_text(prefix + tail)
    except DocumentError as refused:
        assert 400 <= refused.status < 500 and refused.code
    else:
        assert extracted.text.strip()
