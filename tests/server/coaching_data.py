"""Answers and a scripted LLM feedback shared by the feedback, report and quiz tests."""

from __future__ import annotations

import json
from typing import Any

ANSWERS: list[tuple[str, str]] = [
    (
        "Tell me about a time you improved the performance of a service.",
        "At my last job our checkout service was timing out during sales. My task was to "
        "fix it before Black Friday. I profiled the database calls and I added a Redis "
        "cache in front of the pricing queries. As a result the p95 latency dropped from "
        "900 ms to 200 ms and we handled 3x the traffic.",
    ),
    (
        "Describe a disagreement with a colleague.",
        "Um, I think I would, uh, talk to them about it. It went fine I guess.",
    ),
]

JOB_TEXT = """Backend Engineer at Example Corp

Requirements:
- Experience with Redis and PostgreSQL
- Mentoring junior engineers

Responsibilities:
- Own the checkout service
"""


def llm_feedback() -> str:
    """A valid LLM feedback answer for ``ANSWERS`` (quotes copied from them)."""

    def scores(quote: str) -> list[dict[str, Any]]:
        return [
            {"criterion": c, "score": 3, "quotes": [quote], "reason": "Reason."}
            for c in ("relevance", "structure", "specificity", "communication")
        ]

    return json.dumps(
        {
            "answers": [
                {
                    "turn": 1,
                    "scores": scores("I added a Redis cache"),
                    "suggestions": ["Name the trade-offs."],
                    "stronger_answer_outline": ["Situation", "Task", "Action", "Result"],
                },
                {
                    "turn": 2,
                    "scores": scores("talk to them about it"),
                    "suggestions": ["Use a real example."],
                    "stronger_answer_outline": ["Situation", "Action"],
                },
            ],
            "coverage": [],
            "suggestions": ["Practise STAR."],
        }
    )
