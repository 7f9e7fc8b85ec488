"""Feedback on an interview: the LLM's judgement when it gives a valid one, else the
heuristic scorer's; delivery metrics always from the word timings.

Every answer is scored on the dimensions of its kind's rubric (``pipeline/kinds.py``):
the schema sent to the model lists them, and an answer is accepted only if it scores each
answer on exactly the dimensions of that answer's rubric, every quote it gives occurs
verbatim (ignoring case and whitespace) in the answer it scores, and the coverage grid
names the job's own requirements. Anything else is refused, the model gets one retry, and
then the heuristic scorer takes over — labelled ``heuristic``: an LLM failure never turns
into invented scores. A "stronger answer" of the model that states a number, a name or a
title the candidate never gave (``grounding.py``) is dropped for the offline one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Annotated, Any, Final

from pydantic import Field, create_model

from pipeline import cpu
from pipeline.feedback import heuristic
from pipeline.feedback.delivery import AnswerTiming, delivery
from pipeline.feedback.grounding import ungrounded
from pipeline.feedback.stronger import grounding_sources, stronger_answer
from pipeline.feedback.types import (
    HEURISTIC_VERSION,
    PROMPT_VERSION,
    AnswerFeedback,
    AnswerInput,
    CriterionScore,
    JobContext,
    ResumeFacts,
    ScoredInterview,
    StrongerAnswer,
    averages,
    quote_occurs,
    rubric_of,
    weighted,
)
from pipeline.llm.redact import redact
from pipeline.llm.types import JsonChat, LlmParseError
from pipeline.llm.validated import ask_validated

log = logging.getLogger("intrvuer.feedback")

HEURISTIC: Final = "heuristic"
MAX_ANSWER_CHARS: Final = 6_000
MAX_FACTS: Final = 12  # highlights and achievements of the resume sent with the answers

SYSTEM_PROMPT: Final = """You are an interview coach scoring a candidate's answers.
Each answer comes with its interview kind and the rubric it is scored on: dimensions \
with a name, a label and a weight. Score every dimension of that answer's rubric, and \
no other, from 1 (poor) to 5 (excellent), giving the dimension's name as "criterion". \
What the dimensions judge:
- behavioural (STAR): situation, task, action (what the candidate did themselves), result;
- technical: correctness, depth, trade-offs, clarity;
- system design: requirements clarified, high-level design, data and scaling, \
trade-offs, communication;
- role: how well the answer shows each of the job's requirements (one dimension each), \
or domain knowledge, judgement and communication.
Every score must quote the candidate's own words it rests on: each quote copied EXACTLY \
from that answer (a few words to one sentence), never paraphrased, never from the \
question. An empty quote list is allowed only when the answer is empty. Give concrete \
suggestions and an outline (3-6 short steps) of a stronger answer in the rubric's terms. \
For every answer, "stronger_answer": "missing" names the dimensions it falls short on, \
weakest first; "advice" completes "A stronger answer would ..." in the rubric's terms; \
"example" is one concrete example built only from the candidate's resume facts given \
(positions, highlights, achievements) or from their own answer. Never name an employer, \
a job title, a number or a product that is not in those facts or the answer. Then, for \
each job requirement listed, say whether the answers cover it ("covered", "partly", \
"missing"), with an exact quote and the turn number when it is covered or partly \
covered. Use the requirement text exactly as listed. Contact details appear as [email], \
[phone], [link]."""


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
        replace(
            a,
            question=redact(a.question),
            answer=redact(a.answer[:MAX_ANSWER_CHARS]),
            words=(),
            rubric=rubric_of(a),
        )
        for a in answers
    ]


def _resume_payload(resume: ResumeFacts) -> dict[str, Any]:
    return {
        "positions": [
            {
                "title": p.title,
                "company": p.company,
                "start": p.start,
                "end": p.end,
                "highlights": list(p.highlights[:4]),
            }
            for p in resume.positions[:4]
        ],
        "achievements": list(resume.achievements[:MAX_FACTS]),
        "skills": list(resume.skills[:20]),
    }


def _user_message(answers: list[AnswerInput], job: JobContext, resume: ResumeFacts) -> str:
    payload = {
        "job_title": job.title,
        "job_requirements": list(job.requirements),
        "resume": _resume_payload(resume),
        "answers": [
            {
                "turn": a.turn,
                "kind": a.kind,
                "rubric": [
                    {"name": d.name, "label": d.label, "weight": d.weight} for d in rubric_of(a)
                ],
                "question": a.question,
                "probes": a.requirement or a.competency,
                "answer": a.answer,
            }
            for a in answers
        ],
    }
    return redact(json.dumps(payload, ensure_ascii=False))


def scores_model(answers: list[AnswerInput]) -> type[ScoredInterview]:
    """``ScoredInterview`` whose schema names the dimensions of these answers' rubrics:
    the model cannot be asked for a criterion none of them has."""
    return _scores_model(tuple(dict.fromkeys(d.name for a in answers for d in rubric_of(a))))


# One model per set of dimension names, made once: the rubrics are fixed, so there are
# only a few. Made per scoring, a model cost ~4 ms of CPU and left four classes (each
# with a compiled validator and serializer held outside the Python heap) to the cyclic
# garbage collector, which the server runs rarely (``server.app.GC_THRESHOLDS``): in a
# long run they piled up, interview after interview, between full collections.
@lru_cache(maxsize=64)
def _scores_model(names: tuple[str, ...]) -> type[ScoredInterview]:
    dimension = Annotated[str, Field(json_schema_extra={"enum": list(names)})]
    score = create_model("DimensionScore", __base__=CriterionScore, criterion=(dimension, ...))
    stronger = create_model(
        "StrongerAnswerOf",
        __base__=StrongerAnswer,
        missing=(list[dimension], Field(max_length=5)),
    )
    answer = create_model(
        "AnswerScores",
        __base__=AnswerFeedback,
        scores=(list[score], ...),  # type: ignore[valid-type]
        stronger_answer=(stronger | None, None),  # type: ignore[arg-type]
    )
    return create_model(
        "InterviewScores",
        __base__=ScoredInterview,
        answers=(list[answer], ...),  # type: ignore[valid-type]
    )


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
        names = [d.name for d in rubric_of(source)]
        if sorted(s.criterion for s in answer.scores) != sorted(names):
            problems.append(
                f"answers[{index}] must score each dimension of its rubric once: {', '.join(names)}"
            )
        if answer.stronger_answer is not None and not set(answer.stronger_answer.missing) <= set(
            names
        ):
            problems.append(f"answers[{index}].stronger_answer.missing must name its dimensions")
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
    chat: JsonChat,
    answers: list[AnswerInput],
    job: JobContext,
    resume: ResumeFacts | None = None,
) -> ScoredInterview:
    """The LLM's validated feedback; ``LlmParseError`` when it gave none twice."""
    redacted = _redacted(answers)
    return await ask_validated(
        chat,
        system=SYSTEM_PROMPT,
        user=_user_message(redacted, job, resume or ResumeFacts()),
        model=scores_model(redacted),
        schema_name="interview_feedback",
        check=lambda scored: check_scores(scored, redacted, job),
    )


def grounded_stronger(
    answer: AnswerFeedback, item: AnswerInput, resume: ResumeFacts
) -> tuple[StrongerAnswer, bool]:
    """The answer's stronger answer and whether it is the model's: the model's when it
    gave one whose every number, name and title is the candidate's own, else the
    offline one built from its scores' gaps."""
    rubric = rubric_of(item)
    given = answer.stronger_answer
    if given is not None:
        text = " ".join(part for part in (given.advice, given.example) if part)
        if not ungrounded(text, grounding_sources(item, resume, rubric)):
            return given, True
    return stronger_answer(item, answer.scores, rubric, resume), False


def delivery_of(answers: list[AnswerInput], job: JobContext) -> dict[str, Any]:
    terms = list(job.skills)
    timings = [
        AnswerTiming(
            a.question,
            a.words,
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
    answers: list[AnswerInput],
    job: JobContext,
    chat: JsonChat | None,
    resume: ResumeFacts | None = None,
) -> FeedbackResult:
    """Feedback on ``answers``, each on its own rubric: by ``chat`` when given and it
    answers validly, else by the heuristic scorer. Never raises for what the answers say
    or the LLM does. ``resume`` holds the facts a stronger answer's example may use."""
    facts = resume or ResumeFacts()
    scored: ScoredInterview | None = None
    if chat is not None and answers:
        try:
            scored = await llm_scores(chat, answers, job, facts)
        except LlmParseError as error:
            log.warning(
                "LLM feedback failed; the heuristic scorer's feedback is stored",
                extra={"llm": error.source, "reason": error.reason},
            )
    if scored is not None and chat is not None:
        source, model, version = f"llm:{chat.model}", chat.model, PROMPT_VERSION
    else:
        scored = await cpu.run(heuristic.score_interview, answers, job, facts)
        source, model, version = HEURISTIC, None, HEURISTIC_VERSION
    measured = delivery_of(answers, job)
    by_turn = {a.turn: a for a in answers}
    answers_out = []
    labels: dict[str, str] = {}
    overall_of: dict[int, float] = {}
    dropped = 0
    for item in scored.answers:
        asked = by_turn[item.turn]
        rubric = rubric_of(asked)
        dimension = {d.name: d for d in rubric}
        labels.update((d.name, d.label) for d in rubric)
        stronger, kept = grounded_stronger(item, asked, facts)
        if source != HEURISTIC and item.stronger_answer is not None and not kept:
            dropped += 1
        overall = weighted(item.scores, rubric)
        if overall is not None:
            overall_of[item.turn] = overall
        answers_out.append(
            {
                "turn": item.turn,
                "question": asked.question,
                "competency": asked.competency,
                "requirement": asked.requirement,
                "kind": asked.kind,
                "rubric": [{"name": d.name, "label": d.label, "weight": d.weight} for d in rubric],
                "scores": [
                    {
                        **s.model_dump(),
                        "label": dimension[s.criterion].label,
                        "weight": dimension[s.criterion].weight,
                    }
                    for s in item.scores
                ],
                "overall": overall,
                "suggestions": item.suggestions,
                "stronger_answer_outline": item.stronger_answer_outline,
                "stronger_answer": {
                    **stronger.model_dump(),
                    "missing_labels": [dimension[n].label for n in stronger.missing],
                    "source": source if kept else HEURISTIC,
                },
                "delivery": measured["per_answer"].get(str(item.turn)),
                "source": source,
                "model": model,
                "prompt_version": version,
            }
        )
    if dropped:
        # How many, never which words: the suggestion may quote the resume.
        log.warning(
            "LLM stronger answers named facts the candidate never gave; offline ones kept",
            extra={"llm": source, "dropped": dropped},
        )
    means = averages(scored.answers)
    # Per kind as well: a mixed interview's answers are each on their own kind's rubric,
    # and progress follows each kind's dimensions apart.
    kinds_of: dict[str, list[AnswerFeedback]] = {}
    for item in scored.answers:
        kinds_of.setdefault(by_turn[item.turn].kind, []).append(item)
    by_kind = {kind: averages(items) for kind, items in kinds_of.items()}
    interview_overall = round(sum(overall_of.values()) / len(overall_of), 2) if overall_of else None
    by_competency: dict[str, list[float]] = {}
    for item in scored.answers:
        topic = by_turn[item.turn].competency
        if topic and item.turn in overall_of:
            by_competency.setdefault(topic, []).append(overall_of[item.turn])
    competencies = {k: round(sum(v) / len(v), 2) for k, v in by_competency.items()}
    body = {
        "source": source,
        "model": model,
        "prompt_version": version,
        "scores": means,
        "overall": interview_overall,
        "labels": labels,
        "competencies": competencies,
        "answers": answers_out,
        "coverage": [c.model_dump() for c in scored.coverage],
        "suggestions": scored.suggestions,
        "delivery": measured["overall"],
    }
    numbers = measured["overall"]
    summary = {
        "scores": means,
        "overall": interview_overall,
        "labels": labels,
        "by_kind": by_kind,
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
