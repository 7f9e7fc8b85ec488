"""What a parsed resume and a parsed job description hold, and the errors of reading one.

The models validate whatever produced them (the heuristic parser or an LLM's JSON): text
is stripped and capped, lists are capped, so a runaway answer cannot grow a record
without bound.
"""

from __future__ import annotations

from typing import Annotated, Final, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ITEMS: Final = 60  # entries in any list: far more than any real resume has
MAX_TEXT: Final = 400  # characters in one field or highlight

T = TypeVar("T")


def _clean(value: str) -> str:
    return " ".join(value.split())[:MAX_TEXT]


def _clean_optional(value: str | None) -> str | None:
    if value is None:
        return None
    return _clean(value) or None


def _clean_list(values: list[str]) -> list[str]:
    kept: list[str] = []
    for value in values:
        cleaned = _clean(value)
        if cleaned:
            kept.append(cleaned)
    return kept[:MAX_ITEMS]


def _first_items(values: list[T]) -> list[T]:
    return values[:MAX_ITEMS]


Text = Annotated[str | None, AfterValidator(_clean_optional)]
TextList = Annotated[list[str], AfterValidator(_clean_list)]


class _Record(BaseModel):
    # An LLM that adds a field of its own gets it dropped, not the whole answer refused.
    model_config = ConfigDict(extra="ignore")


class Personal(_Record):
    name: Text = None
    email: Text = None
    phone: Text = None
    location: Text = None
    links: TextList = Field(default_factory=list)


class Experience(_Record):
    """One position. Dates read ``YYYY-MM``, ``YYYY`` or ``present``, as far as known."""

    title: Text = None
    company: Text = None
    start: Text = None
    end: Text = None
    highlights: TextList = Field(default_factory=list)


class Education(_Record):
    degree: Text = None
    school: Text = None
    dates: Text = None  # as written ("2014 – 2018", "2016")


class ResumeData(_Record):
    """A parsed resume."""

    personal: Personal = Field(default_factory=Personal)
    experience: Annotated[list[Experience], AfterValidator(_first_items)] = Field(
        default_factory=list
    )
    education: Annotated[list[Education], AfterValidator(_first_items)] = Field(
        default_factory=list
    )
    skills: TextList = Field(default_factory=list)
    achievements: TextList = Field(default_factory=list)


class JobData(_Record):
    """A parsed job description."""

    title: Text = None
    company: Text = None
    requirements: TextList = Field(default_factory=list)
    responsibilities: TextList = Field(default_factory=list)
    skills: TextList = Field(default_factory=list)


class DocumentError(Exception):
    """A file or text that cannot be taken, with the HTTP status and code to answer.

    The message is for the user and never quotes the document.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[DocumentError], tuple[int, str, str]]:
        # Raised in a worker process (pipeline.cpu): it must cross back by pickle.
        return (DocumentError, (self.status, self.code, self.message))
