"""A vocabulary of skills, for finding them in running text (job descriptions, and resumes
without a skills section).

Each entry is a canonical name and the other ways it is written. Matching ignores case,
except for names that are also common words ("Go", "R", "Swift"), which must be written
as names and stand next to a list separator or after "in"/"with"/"using"/"and"/"or"
("Python, Go and SQL", "experience in R"), so that "go beyond" or "Series C" are not
skills. ``listed_skills`` reads the list of a skills section instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Final

from pipeline.documents.reading import Line, split_list

# canonical name: other spellings
VOCABULARY: Final[dict[str, tuple[str, ...]]] = {
    # languages
    "Python": (),
    "Java": (),
    "JavaScript": ("JS",),
    "TypeScript": (),
    "Go": ("Golang",),
    "Rust": (),
    "C": (),
    "C++": ("CPP",),
    "C#": ("C Sharp",),
    "Ruby": (),
    "PHP": (),
    "Kotlin": (),
    "Swift": (),
    "Objective-C": (),
    "Scala": (),
    "R": (),
    "MATLAB": (),
    "Julia": (),
    "Perl": (),
    "Elixir": (),
    "Erlang": (),
    "Haskell": (),
    "Clojure": (),
    "Dart": (),
    "Lua": (),
    "Bash": (),
    "Shell scripting": ("shell", "shell scripts"),
    "PowerShell": (),
    "SQL": (),
    "NoSQL": (),
    "HTML": ("HTML5",),
    "CSS": ("CSS3",),
    "Sass": ("SCSS",),
    "GraphQL": (),
    "Solidity": (),
    "VBA": (),
    "COBOL": (),
    "Fortran": (),
    # frameworks and libraries
    "React": ("React.js", "ReactJS"),
    "React Native": (),
    "Angular": ("AngularJS",),
    "Vue.js": ("Vue", "VueJS"),
    "Svelte": (),
    "Next.js": ("NextJS",),
    "Node.js": ("Node", "NodeJS"),
    "Express": ("Express.js",),
    "Django": (),
    "Flask": (),
    "FastAPI": (),
    "Starlette": (),
    "Spring": ("Spring Boot",),
    "Ruby on Rails": ("Rails",),
    "Laravel": (),
    ".NET": ("dotnet", ".NET Core", "ASP.NET"),
    "Flutter": (),
    "jQuery": (),
    "Redux": (),
    "Tailwind CSS": ("Tailwind",),
    "Bootstrap": (),
    "pandas": (),
    "NumPy": (),
    "SciPy": (),
    "scikit-learn": ("sklearn",),
    "TensorFlow": (),
    "PyTorch": (),
    "Keras": (),
    "Hugging Face": ("HuggingFace", "Transformers"),
    "LangChain": (),
    "OpenCV": (),
    "Spark": ("Apache Spark", "PySpark"),
    "Hadoop": (),
    "Kafka": ("Apache Kafka",),
    "Airflow": ("Apache Airflow",),
    "dbt": (),
    "Celery": (),
    "gRPC": (),
    "REST APIs": ("REST", "RESTful APIs", "RESTful", "REST API"),
    "Microservices": ("microservice architecture",),
    "WebSockets": ("WebSocket",),
    "asyncio": (),
    # data stores
    "PostgreSQL": ("Postgres",),
    "MySQL": (),
    "SQLite": (),
    "MongoDB": ("Mongo",),
    "Redis": (),
    "Elasticsearch": ("Elastic Search", "OpenSearch"),
    "Cassandra": (),
    "DynamoDB": (),
    "Snowflake": (),
    "BigQuery": (),
    "Redshift": (),
    "Oracle": (),
    "SQL Server": ("MS SQL", "MSSQL"),
    "Neo4j": (),
    "ClickHouse": (),
    # cloud, infrastructure, tools
    "AWS": ("Amazon Web Services",),
    "GCP": ("Google Cloud", "Google Cloud Platform"),
    "Azure": ("Microsoft Azure",),
    "Docker": (),
    "Kubernetes": ("K8s",),
    "Terraform": (),
    "Ansible": (),
    "Helm": (),
    "Linux": (),
    "Git": (),
    "GitHub Actions": (),
    "GitLab CI": (),
    "Jenkins": (),
    "CI/CD": ("continuous integration", "continuous delivery", "continuous deployment"),
    "Prometheus": (),
    "Grafana": (),
    "Datadog": (),
    "Nginx": (),
    "Serverless": ("AWS Lambda", "Lambda"),
    "Jira": (),
    "Confluence": (),
    "Figma": (),
    "Sketch": (),
    "Adobe Photoshop": ("Photoshop",),
    "Adobe Illustrator": ("Illustrator",),
    "Tableau": (),
    "Power BI": ("PowerBI",),
    "Looker": (),
    "Excel": ("Microsoft Excel", "MS Excel"),
    "Google Analytics": (),
    "Salesforce": (),
    "HubSpot": (),
    "SAP": (),
    "QuickBooks": (),
    "Selenium": (),
    "Cypress": (),
    "Playwright": (),
    "pytest": (),
    "Jest": (),
    "JUnit": (),
    "Webpack": (),
    "Unity": (),
    "Unreal Engine": (),
    "Android": (),
    "iOS": (),
    # practices and fields
    "Machine Learning": ("ML",),
    "Deep Learning": (),
    "Natural Language Processing": ("NLP",),
    "Computer Vision": (),
    "Data Analysis": ("data analytics",),
    "Data Visualization": (),
    "Data Engineering": (),
    "Data Modeling": ("data modelling",),
    "ETL": ("ELT",),
    "Statistics": ("statistical analysis",),
    "A/B Testing": ("A/B tests", "experimentation"),
    "Distributed Systems": (),
    "System Design": (),
    "Cloud Infrastructure": (),
    "Observability": (),
    "Security": ("cybersecurity", "application security"),
    "Networking": (),
    "TCP/IP": (),
    "Agile": (),
    "Scrum": (),
    "Kanban": (),
    "Test-Driven Development": ("TDD",),
    "Unit Testing": (),
    "Code Review": ("code reviews",),
    "Technical Writing": (),
    "UX Design": ("user experience", "UX"),
    "UI Design": ("user interface design",),
    "User Research": (),
    "Prototyping": (),
    "Accessibility": ("WCAG", "a11y"),
    "SEO": ("search engine optimization",),
    "Product Management": (),
    "Project Management": (),
    "Stakeholder Management": (),
    "Roadmapping": ("product roadmap", "roadmaps"),
    "Financial Modeling": ("financial modelling",),
    "Budgeting": (),
    "Forecasting": (),
    "Accounting": (),
    "Bookkeeping": (),
    "Auditing": (),
    "Sales": (),
    "Negotiation": (),
    "Account Management": (),
    "Customer Service": ("customer support",),
    "CRM": (),
    "Lead Generation": (),
    "Marketing": (),
    "Content Marketing": (),
    "Social Media": (),
    "Copywriting": (),
    "Recruiting": ("recruitment",),
    "Onboarding": (),
    "Training": (),
    "Coaching": (),
    "Mentoring": ("mentorship",),
    "Leadership": ("team leadership",),
    "People Management": (),
    "Communication": ("communication skills",),
    "Public Speaking": ("presentation skills",),
    "Problem Solving": ("problem-solving",),
    "Teamwork": ("collaboration",),
    "Time Management": (),
    "Patient Care": (),
    "Electronic Health Records": ("EHR", "EMR", "electronic medical records"),
    "Epic": ("Epic EHR", "Epic Systems"),
    "Cerner": (),
    "Medication Administration": (),
    "Phlebotomy": (),
    "CPR": ("cardiopulmonary resuscitation",),
    "BLS": ("Basic Life Support",),
    "ACLS": ("Advanced Cardiovascular Life Support",),
    "PALS": ("Pediatric Advanced Life Support",),
    "First Aid": (),
    "Wound Care": (),
    "Infection Control": (),
    "Critical Thinking": (),
    "Attention to Detail": (),
    "Cash Handling": (),
    "Food Safety": (),
    "HACCP": (),
    "GAAP": ("US GAAP", "UK GAAP"),
    "IFRS": (),
    "FP&A": ("financial planning and analysis",),
    "Excel VBA": (),
    "HVAC": (),
    "Triage": (),
    "Curriculum Development": (),
    "Classroom Management": (),
    "Lesson Planning": (),
    "Supply Chain": ("supply chain management",),
    "Logistics": (),
    "Inventory Management": (),
    "Lean": ("Lean Six Sigma",),
    "Six Sigma": (),
    "AutoCAD": (),
    "SolidWorks": (),
    "English": (),
    "Spanish": (),
    "French": (),
    "German": (),
    "Mandarin": (),
    "Cantonese": (),
    "Portuguese": (),
    "Italian": (),
    "Dutch": (),
    "Polish": (),
    "Arabic": (),
    "Japanese": (),
    "Korean": (),
    "Hindi": (),
    "Russian": (),
    "Turkish": (),
    "Swedish": (),
    "Welsh": (),
    "British Sign Language": ("BSL",),
    "American Sign Language": ("ASL",),
}

# Names that are also everyday words or letters: matched only as written, in a list.
_AMBIGUOUS: Final = frozenset(
    {"Go", "R", "C", "Swift", "Rust", "Spark", "Unity", "Lean", "Sales", "Training",
     "Security", "Networking", "Marketing", "Leadership", "Accounting", "Logistics",
     "Budgeting", "Forecasting", "Coaching", "Mentoring", "Triage", "Sketch", "Oracle",
     "Helm", "Express", "Spring", "Node", "Lambda", "Vue", "Rails", "Mongo", "Epic",
     "Transformers", "Agile", "Lua", "Dart", "Julia", "Android", "Excel", "Serverless",
     "English", "Spanish", "French", "German", "Mandarin", "Cantonese", "Portuguese",
     "Italian", "Dutch", "Polish", "Arabic", "Japanese", "Korean", "Hindi", "Russian",
     "Turkish", "Swedish", "Welsh", "BSL", "ASL", "UX", "ML", "REST", "shell",
     "experimentation", "collaboration", "Looker", "Snowflake", "Cassandra", "Jest",
     "Cypress", "Playwright", "Celery", "Bootstrap", "Flutter", "Kanban", "Scrum",
     "Redux", "Onboarding", "Recruiting", "recruitment", "Cerner", "Epic Systems"}
)  # fmt: skip
# Ambiguous names that are practices, not products: in a requirement they count in any
# case ("1+ year in a sales role", "training new staff").
_PRACTICES: Final = frozenset(
    {"Sales", "Training", "Security", "Networking", "Marketing", "Leadership", "Accounting",
     "Logistics", "Budgeting", "Forecasting", "Coaching", "Mentoring", "Triage",
     "Onboarding", "Recruiting", "recruitment", "collaboration", "experimentation",
     "Agile", "Scrum", "Kanban", "Lean"}
)  # fmt: skip
# An ambiguous name counts next to a list separator, or after "in", "with", "using"...
_LIST_BEFORE = (
    r"(?:(?<=[,(/|:;•])|(?<=[,(/|:;•]\s)"
    + "".join(rf"|(?<=\b{word}\s)" for word in ("in", "with", "using", "and", "or", "of"))
    + ")"
)
# ... or before a list separator or "and"/"or" (not a full stop: "Series C.").
_LIST_AFTER = r"(?=\s*[,)/|;]|\s+(?:and|or|&)\s)"


def _boundary_pattern(spelling: str) -> str:
    # Word boundaries that work for "C++", "C#", ".NET" and "Node.js" too.
    return rf"(?<![\w+#.-]){re.escape(spelling)}(?![\w+#]|\.\w)"


@cache
def _patterns(relaxed: bool = False) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One pattern per skill. ``relaxed`` (for the text of one requirement, where every
    phrase names something asked for) lets a name that is also a word count wherever it
    is written as a name ("Dutch is a plus", "Training new staff")."""
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for canonical, others in VOCABULARY.items():
        plain: list[str] = []
        strict: list[str] = []
        for spelling in (canonical, *others):
            loose = spelling not in _AMBIGUOUS or (relaxed and spelling in _PRACTICES)
            (plain if loose else strict).append(_boundary_pattern(spelling))
        parts: list[str] = []
        if plain:
            parts.append(f"(?i:{'|'.join(plain)})")
        if strict:
            names = "|".join(strict)
            if relaxed:
                parts.append(f"(?:{names})")
            else:
                parts.append(f"{_LIST_BEFORE}(?:{names})|(?:{names}){_LIST_AFTER}")
        compiled.append((canonical, re.compile("|".join(parts), re.MULTILINE)))
    return tuple(compiled)


def find_skills(text: str) -> list[str]:
    """Canonical names of the vocabulary's skills named in ``text``, in order of first
    mention."""
    found: list[tuple[int, str]] = []
    for canonical, pattern in _patterns():
        match = pattern.search(text)
        if match is not None:
            found.append((match.start(), canonical))
    return [name for _, name in sorted(found)]


def find_spans(text: str, *, relaxed: bool = True) -> list[tuple[int, int, str]]:
    """(start, end, canonical name) of every mention of the vocabulary's skills in
    ``text`` (as written: ``text[start:end]``), the longest winning where two overlap
    ("Epic EHR" over "EHR", "SQL Server" over "SQL"), in order."""
    lowered = text.casefold()
    mentions: list[tuple[int, int, str]] = []
    for (canonical, pattern), spellings in zip(_patterns(relaxed), _spellings(), strict=True):
        # A substring test first: most names are not in a given text at all.
        if any(spelling in lowered for spelling in spellings):
            mentions.extend((m.start(), m.end(), canonical) for m in pattern.finditer(text))
    kept: list[tuple[int, int, str]] = []
    # By start, the longer first at one start; one that begins inside a kept one is
    # part of it.
    for start, end, name in sorted(mentions, key=lambda m: (m[0], m[0] - m[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, name))
    return sorted(kept)


@cache
def _spellings() -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(spelling.casefold() for spelling in (name, *others))
        for name, others in VOCABULARY.items()
    )


def canonical(name: str) -> str:
    """The vocabulary's spelling of ``name`` if it knows it, else ``name`` unchanged."""
    return _lookup().get(name.casefold(), name)


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for name, others in VOCABULARY.items():
        for spelling in (name, *others):
            table.setdefault(spelling.casefold(), name)
    return table


def unique(names: Iterable[str]) -> list[str]:
    """``names`` without repeats (ignoring case), first spelling kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


_SKILL_MAX_WORDS: Final = 6
# A label of up to three words and a dash before a list: "Cloud — GCP, Docker".
_DASHED_LABEL: Final = re.compile(r"^[A-Za-z&/ ]{1,30}?\s[—–-]\s(.+,.+)$")


def listed_skills(lines: list[Line]) -> list[str]:
    """The skills a skills section lists, one item each, labels ("Languages:") dropped."""
    found: list[str] = []
    for line in lines:
        text = line.text
        label, colon, rest = text.partition(":")
        dashed = _DASHED_LABEL.match(text)
        if colon and len(label.split()) <= 4 and rest.strip():
            text = rest  # "Languages: Python, Go" -> the list after the label
        elif dashed:
            text = dashed.group(1)  # "Cloud — GCP, Docker" -> the same
        elif text.endswith(":"):
            continue  # a label over a list of its own
        for item in split_list(text):
            item = re.sub(r"^(?:and|&)\s+", "", item).strip()
            if 0 < len(item.split()) <= _SKILL_MAX_WORDS and len(item) <= 60:
                found.append(item)
    return unique(found)
