"""Feedback on an interview: the LLM's judgement when it gives a valid one, else the
heuristic scorer's; delivery metrics always from the word timings.

An LLM answer is accepted only if every quote it gives occurs verbatim (ignoring case and
whitespace) in the answer it scores, every answer was scored on every criterion, and the
coverage grid names the job's own requirements. Anything else is refused, the model gets
one retry, and then the heuristic scorer takes over — labelled ``heuristic``: an LLM
failure never turns into invented scores.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Final

from pipeline import cpu
from pipeline.documents.llm import JsonChat, LlmParseError
from pipeline.feedback import heuristic
from pipeline.feedback.delivery import AnswerTiming, delivery, words_of
from pipeline.feedback.llm import ask_validated
from pipeline.feedback.types import (
    CRITERIA,
    HEURISTIC_VERSION,
    PROMPT_VERSION,
    AnswerInput,
    JobContext,
    ScoredInterview,
    averages,
    quote_occurs,
)
from pipeline.interviewer.redact import redact

log = logging.getLogger("intrvuer.feedback")

HEURISTIC: Final = "heuristic"
MAX_ANSWER_CHARS: Final = 6_000

SYSTEM_PROMPT: Final = """You are an interview coach scoring a candidate's answers.
For every answer, score each criterion from 1 (poor) to 5 (excellent):
- relevance: does it answer the question asked (and the job requirement it probes)?
- structure: does it follow STAR (situation, task, action, result)?
- specificity: concrete details, figures, tools, and the impact achieved;
- communication: clear, concise, easy to follow.
Every score must quote the candidate's own words it rests on: each quote copied EXACTLY \
from that answer (a few words to one sentence), never paraphrased, never from the \
question. An empty quote list is allowed only when the answer is empty. Give concrete \
suggestions and an outline (3-6 short steps) of a stronger answer. Then, for each job \
requirement listed, say whether the answers cover it ("covered", "partly", "missing"), \
with an exact quote and the turn number when it is covered or partly covered. Use the \
requirement text exactly as listed. Contact details appear as [email], [phone], [link]."""


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What is stored: the source label, the prompt version and model, and the body."""

    source: str  # "heuristic" | "llm:<model>"
    model: str | None
    prompt_version: str
    body: dict[str, Any]
    summary: dict[str, Any]


def _redacted(answers: list[AnswerInput]) -> list[AnswerInput]:
    return [
        AnswerInput(
            turn=a.turn,
            question=redact(a.question),
            answer=redact(a.answer[:MAX_ANSWER_CHARS]),
            competency=a.competency,
            requirement=a.requirement,
        )
        for a in answers
    ]


def _user_message(answers: list[AnswerInput], job: JobContext) -> str:
    payload = {
        "job_title": job.title,
        "job_requirements": list(job.requirements),
        "answers": [
            {
                "turn": a.turn,
                "question": a.question,
                "probes": a.requirement or a.competency,
                "answer": a.answer,
            }
            for a in answers
        ],
    }
    return redact(json.dumps(payload, ensure_ascii=False))


def check_scores(scored: ScoredInterview, answers: list[AnswerInput], job: JobContext) -> list[str]:
    """The problems of an LLM's feedback (empty when acceptable). Problems name places,
    never the text, so they can be logged and said back to the model."""
    problems: list[str] = []
    by_turn = {a.turn: a for a in answers}
    seen = [a.turn for a in scored.answers]
    if sorted(seen) != sorted(by_turn):
        problems.append(f"score exactly the turns {sorted(by_turn)}, each once")
    for index, answer in enumerate(scored.answers):
        source = by_turn.get(answer.turn)
        if source is None:
            continue
        criteria = sorted(s.criterion for s in answer.scores)
        if criteria != sorted(CRITERIA):
            problems.append(f"answers[{index}] must score each of {', '.join(CRITERIA)} once")
        for score in answer.scores:
            if not score.quotes and source.answer.strip():
                problems.append(f"answers[{index}].{score.criterion} has no quote")
            for q, quote in enumerate(score.quotes):
                if not quote_occurs(quote, source.answer):
                    problems.append(
                        f"answers[{index}].{score.criterion}.quotes[{q}] does not occur "
                        f"verbatim in the answer of turn {answer.turn}"
                    )
    wanted = {r.strip().lower() for r in job.requirements}
    named = [c.requirement.strip().lower() for c in scored.coverage]
    if set(named) != wanted:
        problems.append("the coverage must list each job requirement exactly as given")
    for index, item in enumerate(scored.coverage):
        if item.status == "missing":
            continue
        quoted = by_turn.get(item.turn) if item.turn is not None else None
        if item.quote is None or quoted is None or not quote_occurs(item.quote, quoted.answer):
            problems.append(
                f"coverage[{index}] needs a quote that occurs verbatim in the answer of its turn"
            )
    return problems


async def llm_scores(
    chat: JsonChat, answers: list[AnswerInput], job: JobContext
) -> ScoredInterview:
    """The LLM's validated feedback; ``LlmParseError`` when it gave none twice."""
    redacted = _redacted(answers)
    return await ask_validated(
        chat,
        system=SYSTEM_PROMPT,
        user=_user_message(redacted, job),
        model=ScoredInterview,
        schema_name="interview_feedback",
        check=lambda scored: check_scores(scored, redacted, job),
    )


def delivery_of(answers: list[AnswerInput], job: JobContext) -> dict[str, Any]:
    terms = list(job.skills)
    timings = [
        AnswerTiming(
            a.question,
            words_of(a.words),
            question_end_s=a.question_end_s,
            reply_latency_s=a.reply_latency_s,
            question_audio_s=a.question_audio_s,
        )
        for a in answers
    ]
    overall = delivery(timings, job_terms=terms).as_dict()
    per_answer = {
        str(a.turn): delivery([t], job_terms=terms).as_dict()
        for a, t in zip(answers, timings, strict=True)
    }
    return {"overall": overall, "per_answer": per_answer}


async def score_interview(
    answers: list[AnswerInput], job: JobContext, chat: JsonChat | None
) -> FeedbackResult:
    """Feedback on ``answers``: by ``chat`` when given and it answers validly, else by
    the heuristic scorer. Never raises for what the answers say or the LLM does."""
    scored: ScoredInterview | None = None
    if chat is not None and answers:
        try:
            scored = await llm_scores(chat, answers, job)
        except LlmParseError as error:
            log.warning(
                "LLM feedback failed; the heuristic scorer's feedback is stored",
                extra={"llm": error.source, "reason": error.reason},
            )
    if scored is not None and chat is not None:
        source, model, version = f"llm:{chat.model}", chat.model, PROMPT_VERSION
    else:
        scored = await cpu.run(heuristic.score_interview, answers, job)
        source, model, version = HEURISTIC, None, HEURISTIC_VERSION
    measured = delivery_of(answers, job)
    by_turn = {a.turn: a for a in answers}
    answers_out = []
    for item in scored.answers:
        asked = by_turn[item.turn]
        answers_out.append(
            {
                "turn": item.turn,
                "question": asked.question,
                "competency": asked.competency,
                "requirement": asked.requirement,
                "scores": [s.model_dump() for s in item.scores],
                "suggestions": item.suggestions,
                "stronger_answer_outline": item.stronger_answer_outline,
                "delivery": measured["per_answer"].get(str(item.turn)),
                "source": source,
                "model": model,
                "prompt_version": version,
            }
        )
    overall = averages(scored.answers)
    by_competency: dict[str, list[float]] = {}
    for item in scored.answers:
        topic = by_turn[item.turn].competency
        if topic:
            mean = sum(s.score for s in item.scores) / max(1, len(item.scores))
            by_competency.setdefault(topic, []).append(mean)
    competencies = {k: round(sum(v) / len(v), 2) for k, v in by_competency.items()}
    body = {
        "source": source,
        "model": model,
        "prompt_version": version,
        "scores": overall,
        "competencies": competencies,
        "answers": answers_out,
        "coverage": [c.model_dump() for c in scored.coverage],
        "suggestions": scored.suggestions,
        "delivery": measured["overall"],
    }
    numbers = measured["overall"]
    summary = {
        "scores": overall,
        "competencies": competencies,
        "delivery": {
            key: numbers[key]
            for key in (
                "words_per_minute",
                "fillers_per_minute",
                "long_pause_count",
                "talk_ratio",
                "words",
            )
        },
        "coverage": {
            status: sum(1 for c in scored.coverage if c.status == status)
            for status in ("covered", "partly", "missing")
        },
        "answers": len(answers_out),
    }
    return FeedbackResult(source, model, version, body, summary)
