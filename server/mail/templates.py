"""The messages Intrvuer sends, from Jinja2 templates (HTML autoescaped).

Each message has a subject here and two templates in ``templates/``: ``NAME.txt`` and
``NAME.html``, both extending the layout that signs with ``SUPPORT_EMAIL``. What they are
given is links and names only: no resume, job description, transcript or feedback text
ever goes into an e-mail, and no name either: a message greets no one by name, so that the
mail spool of the embedded default (``DATA_DIR/mail``) holds addresses only.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from server.mail.types import Email

SUBJECTS: dict[str, str] = {
    "verify_email": "Confirm your e-mail address",
    "password_reset": "Reset your Intrvuer password",
    "password_changed": "Your Intrvuer password was changed",
    "email_change_confirm": "Confirm your new e-mail address",
    "email_change_notice": "Your Intrvuer e-mail address is being changed",
    "policy_notice": "Intrvuer's privacy policy has changed",
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a missing value is a bug, never an empty line
        keep_trailing_newline=True,
    )


def render(template: str, *, to: str, user_id: str | None, **context: Any) -> Email:
    """The message ``template`` for ``to``; ``context`` holds its links and names."""
    if template not in SUBJECTS:
        raise KeyError(f"no such message: {template}")
    environment = _environment()
    values = {"subject": SUBJECTS[template], **context}
    return Email(
        to=to,
        subject=SUBJECTS[template],
        text=environment.get_template(f"{template}.txt").render(values),
        html=environment.get_template(f"{template}.html").render(values),
        user_id=user_id,
    )
