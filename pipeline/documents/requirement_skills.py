"""The skills one requirement of a job names, read by rules: tools, domain phrases,
licences and certifications ("Current Wisconsin nursing license (RN)", "Experience with
Epic EHR and clinical workflows", "BLS and ACLS certifications").

A requirement is cut into phrases at punctuation and at the words that carry no skill:
function words, the fillers postings wrap skills in ("5+ years of", "strong",
"experience with", "is a plus"). A phrase is kept when something marks it as a skill:
a name of the vocabulary, a name written as one (an acronym, a capital inside the
requirement, a digit), a credential ("licence", "certification"), or a head noun that
names a practice ("design", "nursing", "management", "workflows"). Everything else
("a calm head on busy nights") is dropped: a missed skill costs less than an invented one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pipeline.documents import skills as vocabulary


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that never belong to a skill's name: function words, and the fillers job postings
# put around skills (how much, how well, how wanted).
_STOPWORDS: Final = _words(
    """
    a an the and or nor of in on at for with without to from by as into onto via per than
    is are be been being was were will would should could can may might must shall do does
    have has having had get gets i you your yours we our us they their them it its this
    these that those who whom which what when where while how why if so such also too
    not no any all some each every other another more most less least much many very
    up out over under about across within between through during including include
    includes like plus bonus advantage advantageous asset nice ideal ideally preferably
    preferred required requirement requirements desirable desired essential welcome
    welcomed optional mandatory necessary needed beneficial useful helpful important
    year years month months week weeks day days hour hours least minimum maximum
    one two three four five six seven eight nine ten several
    experience experienced experiences knowledge knowledgeable understanding understand
    ability able skills skill skilled proficiency proficient competency competence
    competent familiarity familiar expertise expert background exposure comfort
    comfortable confident confidence track record record history proven demonstrable
    demonstrated solid strong stronger excellent exceptional outstanding good great
    deep deeper sound thorough working hands-on hands practical current currently active
    valid full fluent fluency native basic intermediate advanced relevant related similar
    equivalent comparable appropriate applicable recent professional previous prior
    extensive significant substantial considerable clear effective excellent
    commitment committed passion passionate interest interested eager willing
    willingness desire motivated plus level levels holder hold holds holding
    eligibility candidates obtain obtained gain verifiable proof evidence
    using use used daily regular regularly ideally especially particularly
    ideally similar etc e.g eg i.e ie area areas field fields role roles position
    environment environments setting settings context contexts industry-leading
    grasp command mastery ideally at-scale scale production
    pursuing pursue obtaining studying completing seeking progressing working towards
    """
)
# Credentials: a phrase ending in one is a licence or certification, kept whole.
_CREDENTIALS: Final = _words(
    """
    licence license licences licenses licensure certification certifications certificate
    certificates certified registration registered credential credentials qualification
    qualifications accreditation accredited clearance permit card check diploma degree
    endorsement endorsements designation
    """
)
_CREDENTIAL_SUFFIX: Final = re.compile(
    r"\s+(?:certifications?|certificates?|certified)$", re.IGNORECASE
)
# Head nouns that name a practice, a field or a body of knowledge: "visual design",
# "emergency nursing", "clinical workflows", "causal inference", "menu development".
_PRACTICE_HEADS: Final = _words(
    """
    design designs engineering development management analysis analyses analytics
    testing tests research nursing care medicine therapy accounting finance planning
    modeling modelling writing service services sales marketing communication
    communications leadership thinking handling prevention control controls workflow
    workflows architecture architectures protocol protocols inference forecasting
    terminology partnering calling calls demos demo programming scripting automation
    optimisation optimization integration infrastructure operations support
    administration assessment assessments safety hygiene security compliance
    regulations regulation standards law science sciences learning processing
    language languages systems system frameworks framework methodology methods
    techniques theory practice practices skills mathematics statistics economics
    reporting storytelling recruiting hiring negotiation relations governance strategy
    instruction teaching curriculum pedagogy assessment safeguarding diagnostics
    repair maintenance installation construction carpentry plumbing welding wiring
    cooking baking pastry costing budgeting auditing bookkeeping payroll tax taxation
    lending underwriting trading investing banking insurance logistics procurement
    purchasing merchandising retail hospitality housekeeping reception serving
    stores visualization visualisation pipelines modelling quality experimentation
    research ranking recommendation stewardship coordination scheduling triage
    rehabilitation pharmacology anatomy physiology documentation editing copywriting
    photography illustration animation typography branding prototyping facilitation
    mentoring coaching training onboarding supervision negotiation prospecting
    pharmacy surgery radiology dentistry midwifery optometry veterinary nutrition
    software
    """
)
# Heads too general to be a skill alone.
_TOO_GENERIC: Final = _words(
    """
    design engineering development management analysis research services service systems
    system operations support care planning science learning processing practice
    practices methods techniques theory skills quality strategy relations law testing
    tests demos demo calls software
    """
)
# Words that read as a skill on their own: practices ending in these suffixes.
_PRACTICE_SUFFIX: Final = re.compile(
    r"(?:ing|tion|sion|ment|ics|ogy|ance|ence|ship|ysis|ography|ery|ism)s?$", re.IGNORECASE
)
# Heads of a longer phrase that name a practice by their form (not "-tion": "reliable
# transportation" is no skill).
_NOUN_OF_PRACTICE: Final = re.compile(r"(?:[a-z]{3}ing|ism|ysis|ics|ology|ography)$")
# A token: a word with the punctuation names use inside ("C++", "Node.js", "A/B",
# "scikit-learn", "driver's", "S3", "2.2"), or one separator.
_TOKEN: Final = re.compile(r"[\w][\w+#&./'’-]*[\w+#]|[\w]|[(),;:•|]|\s[–—-]\s")
_SEPARATORS: Final = frozenset("(),;:•|")
_MAX_WORDS: Final = 5
_PAY: Final = re.compile(r"\d/(?:hr|hour|h|yr|year|month|week|day)\b|^\d+k$", re.IGNORECASE)
_STATUS_AFTER: Final = frozenset({"qualified", "eligible", "candidate", "holder", "trained"})


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    skill: str | None = None  # the vocabulary's name, when the token is one of its names
    index: int = 0  # its place among the requirement's tokens


def requirement_skills(text: str) -> list[str]:
    """The skills ``text`` (one requirement) names, as written, the vocabulary's
    spelling for those it knows, in the order they come."""
    found: list[str] = []
    tokens = _tokens(text)
    words = [token for token in tokens if token.text not in _SEPARATORS]
    bare = 0 < len(words) <= 2 and sum(len(token.text.split()) for token in words) <= 2
    if bare and words[0].text[:1].isupper() and not any(map(_is_stopword, words)):
        # A list item that is only a name ("Dagster", "Sage Intacct") is the skill.
        return [words[0].skill] if len(words) == 1 and words[0].skill else [_join(words)]
    opened = _after_opener(tokens, text)
    cued: list[bool] = []
    runs: list[list[_Token]] = []
    for run in _runs(tokens, text):
        object_of = _is_cued(run, tokens, opened)
        run = _without_verb(run, tokens)
        if run:
            if not object_of and runs and cued[-1] and _joined(runs[-1], run, tokens):
                object_of = True  # "experience with Kafka and event sourcing"
            runs.append(run)
            cued.append(object_of)
    start = _first_word(text)
    for index, run in enumerate(runs):
        if any(_PAY.search(token.text) for token in run):
            continue  # "$26–$31/hr"
        named = [token for token in run if token.skill is not None]
        if len(named) > 1 and len(run) - len(named) <= 1 and _slashed(named, text):
            found.extend(token.skill for token in named if token.skill)  # "English/French"
            continue
        after = runs[index + 1] if index + 1 < len(runs) else None
        shared = _shared_head(run, after, tokens) if after else None
        skill = shared or _skill_of(run, first=run[0].start == start)
        if skill is None and cued[index] and _may_be_object(run):
            skill = _join(run)  # "experienced on espresso machines", "knowledge of wine"
        if skill is None and after and _joined(run, after, tokens) and _ends_in_credential(after):
            # "Series 7 and Series 66 licenses": the licence word covers both.
            skill = f"{_join(run)} {after[-1].text}"
        if skill is not None:
            found.append(skill)
    return vocabulary.unique(found)


def _slashed(named: list[_Token], text: str) -> bool:
    """Whether names stand apart by a slash: "Spanish/English", not "First Aid Training"."""
    return all(
        "/" in text[first.start + len(first.text) : second.start]
        for first, second in zip(named, named[1:], strict=False)
    )


def _shared_head(run: list[_Token], after: list[_Token], tokens: list[_Token]) -> str | None:
    """ "visual and interaction design" asks for visual design too: a lone word joined by
    "and"/"or" to a phrase that is a skill shares that phrase's head noun."""
    if len(run) != 1 or len(after) < 2 or run[0].skill is not None:
        return None
    if _PRACTICE_SUFFIX.search(run[0].text):
        return None  # "Photography or video editing": a practice of its own
    if not _joined(run, after, tokens):
        return None
    if _skill_of(after, first=False) is None or after[-1].skill is not None:
        return None
    if after[-1].text.casefold() not in _PRACTICE_HEADS:
        return None
    return f"{run[0].text} {after[-1].text}"


# Words after which an "-ing" word is a verb: "5+ years building", "experience designing".
_VERB_AFTER: Final = frozenset({"experience", "years", "year", "time", "spent", "enjoy", "love"})


# "experience with X", "knowledge of X", "familiar with X": what follows is asked for.
_CUE_WORDS: Final = _words(
    """
    experience experienced knowledge understanding familiar familiarity proficiency
    proficient expertise background exposure comfortable skilled grounding versed
    years year
    """
)
_CUE_PREPOSITIONS: Final = frozenset({"with", "in", "of", "on", "using", "at"})
_ARTICLES: Final = frozenset({"a", "an", "the"})
_MAX_CUED_WORDS: Final = 4


# Who the work is with, not what it takes: "experience with children".
_PEOPLE: Final = _words(
    """
    children child kids pupils students learners patients residents clients customers
    guests people adults families teams team staff colleagues users members public
    adolescents teenagers teens infants babies toddlers elderly seniors parents carers
    """
)


def _may_be_object(run: list[_Token]) -> bool:
    if len(run) > _MAX_CUED_WORDS or run[-1].text.casefold() in _PEOPLE:
        return False
    if len(run) >= 2:
        return True
    word = run[0].text
    return len(word) >= 4 and word.isalpha() and word.casefold() not in _TOO_GENERIC


def _after_opener(tokens: list[_Token], text: str) -> frozenset[int]:
    """Indexes of the tokens in a list a requirement opens: after a colon, "such as",
    "including", "like" or "e.g.", up to a semicolon, a closing bracket or a clause
    ("... to answer your own questions")."""
    inside: set[int] = set()
    open_ = False
    for index, token in enumerate(tokens):
        word = token.text.casefold()
        previous = tokens[index - 1].text.casefold() if index else ""
        colon = word == ":" and text[token.start + 1 : token.start + 2] in (" ", "")
        if word in (";", ")") or word in _CLAUSE_STARTS:
            open_ = False
        elif (
            colon
            or word in ("including", "like", "e.g", "eg")
            or (word == "as" and previous == "such")
        ):
            open_ = True
        elif open_:
            inside.add(index)
    return frozenset(inside)


_CLAUSE_STARTS: Final = frozenset({"to", "for", "that", "which", "who", "when", "so", "where"})


def _is_cued(run: list[_Token], tokens: list[_Token], opened: frozenset[int]) -> bool:
    """Whether ``run`` is the object of "experience with", "knowledge of" (an article
    between allowed), or of a verb after "years" ("3+ years designing aircraft
    structures")."""
    index = run[0].index
    before = [token.text.casefold() for token in tokens[max(0, index - 3) : index]]
    if index in opened:
        return True  # "research: interviews, surveys", "protocols such as DNS and BGP"
    if before and before[-1] in _ARTICLES:
        return False  # "experience in a hotel": a place, not a skill
    if index + len(run) < len(tokens) and tokens[index + len(run)].text.casefold() in (
        "experience",
        "knowledge",
    ):
        return True  # "housekeeping supervisor experience", "insurance industry knowledge"
    if (
        len(before) >= 2
        and before[-1] in _CUE_PREPOSITIONS
        and (before[-2].rstrip("'’") in _CUE_WORDS or re.fullmatch(r"\d+\+", before[-2]))
    ):
        return True  # "experience with X", "3+ years in X", "2+ in X"
    verb = run[0].text.casefold()
    return (
        len(run) > 2
        and run[0].skill is None
        and verb.endswith("ing")
        and bool(before)
        and before[-1] in _VERB_AFTER
    )


def _without_verb(run: list[_Token], tokens: list[_Token]) -> list[_Token]:
    """``run`` without a leading verb: "building backend services" asks for backend
    services, "maintaining design systems" for design systems. An "-ing" word with more
    words after it is such a verb; alone, it is one after "experience" or "years"
    ("experience designing for ..."), and otherwise a practice ("Scripting in Python")."""
    first = run[0]
    word = first.text.casefold()
    if first.skill is not None or not word.endswith("ing") or word in _PRACTICE_HEADS:
        return run  # "programming languages", "nursing license": a field, not a verb
    if len(run) > 1:
        return run[1:]
    index = first.index
    before = tokens[index - 1].text.casefold() if index > 0 else ""
    return [] if before in _VERB_AFTER else run


def _joined(run: list[_Token], after: list[_Token], tokens: list[_Token]) -> bool:
    """Whether only "and", "or" or "&" (and an article) stands between two runs."""
    between = tokens[run[-1].index + 1 : after[0].index]
    words = [token.text.casefold() for token in between if token.text.casefold() not in _ARTICLES]
    return words in (["and"], ["or"], ["&"])


def _first_word(text: str) -> int:
    match = re.search(r"\w", text)
    return match.start() if match else 0


# A degree by its name: "Master of Social Work", "Bachelor of Science in Nursing".
_DEGREE: Final = re.compile(
    r"\b(?:Bachelor|Master|Doctor|Associate)(?:'s|’s)?\s+of\s+[A-Z][\w&]*"
    r"(?:\s+(?:in|of|and)\s+[A-Z][\w&]*|\s+[A-Z][\w&]*)*"
)


def _tokens(text: str) -> list[_Token]:
    degrees = [(m.start(), m.end(), m.group()) for m in _DEGREE.finditer(text)]
    spans = [
        span
        for span in vocabulary.find_spans(text)
        if all(span[1] <= start or span[0] >= end for start, end, _ in degrees)
    ]
    spans = sorted([*spans, *degrees])
    tokens: list[_Token] = []
    position = 0
    for start, end, name in [*spans, (len(text), len(text), "")]:
        for match in _TOKEN.finditer(text, position, start):
            tokens.append(_Token(match.group().strip(), match.start(), None, len(tokens)))
        if name:
            tokens.append(_Token(text[start:end], start, name, len(tokens)))
        position = end
    return tokens


def _is_stopword(token: _Token) -> bool:
    if token.skill is not None:
        return False
    if re.fullmatch(r"[A-Z]", token.text) and token.start > 0:
        return False  # "Class A CDL": a capital letter inside a name
    if token.text.endswith("ly") and token.text.islower() and len(token.text) > 4:
        return True  # "actively", "consistently": how, not what
    word = token.text.casefold().rstrip("'’").removesuffix("'s").removesuffix("’s")
    # "5+", "2-4" count years; a bare number may be part of a name ("OSHA 10", "Sage 200").
    return word in _STOPWORDS or bool(re.fullmatch(r"[\d.,]+\+|\d+[-–]\d+\+?", word))


def _runs(tokens: list[_Token], text: str) -> list[list[_Token]]:
    """Maximal runs of tokens that are neither separators nor stopwords. A bracket
    holding one short name after a longer phrase ("Qualified Teacher Status (QTS)") is
    that phrase's abbreviation and is skipped."""
    runs: list[list[_Token]] = []
    current: list[_Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.text == "(" and _is_abbreviation(tokens, index, current):
            index += 3
            continue
        if token.text in _SEPARATORS or token.text in ("–", "—", "-") or _is_stopword(token):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(token)
        index += 1
    if current:
        runs.append(current)
    return runs


def _is_abbreviation(tokens: list[_Token], index: int, before: list[_Token]) -> bool:
    if index + 2 >= len(tokens) or tokens[index + 2].text != ")":
        return False
    inside = tokens[index + 1]
    words = sum(len(token.text.split()) for token in before)
    return words >= 2 and inside.skill is None and _is_name(inside.text)


def _is_name(word: str) -> bool:
    """Written as a name: an acronym ("BLS", "V150", "FP&A"), a capital inside the word
    ("MLOps", "iOS"), or a digit ("S3")."""
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return False
    return any(c.isdigit() or c in "+#" for c in word) or any(c.isupper() for c in word[1:])


def _skill_of(run: list[_Token], *, first: bool) -> str | None:
    # "published long-form writing": a participle before a skill only describes it.
    lead = run[0].text
    if len(run) > 1 and lead.islower() and lead.endswith("ed") and run[0].skill is None:
        shorter = _skill_of_run(run[1:], first=False)
        if shorter is not None and len(run) > 2:
            return shorter
    return _skill_of_run(run, first=first)


def _skill_of_run(run: list[_Token], *, first: bool) -> str | None:
    # Leading numbers and stray "level 3" digits are not part of a name.
    while run and re.fullmatch(r"[\d.]+", run[0].text) and len(run) > 1:
        run = run[1:]
        first = False
    # "CIMA qualified", "CPA eligible": the status after a name is not part of it.
    while len(run) > 1 and run[-1].text.casefold() in _STATUS_AFTER:
        run = run[:-1]
    if not run or len(run) > _MAX_WORDS:
        return None
    named = [token for token in run if token.skill is not None]
    if named and run[-1].skill is None and run[-1].text.casefold() in _PRACTICE_HEADS:
        return _join(run)  # "security operations": the name only qualifies the practice
    if named and len(run) - len(named) <= 1 and not _ends_in_credential(run):
        # "written communication", "modern CSS": the vocabulary's name is the skill.
        return named[0].skill if len(named) == 1 else _join(run)
    words = [token.text for token in run]
    head = words[-1].casefold()
    text = _join(run)
    if _is_credential_run(run):
        return _CREDENTIAL_SUFFIX.sub("", text) if _all_names(run[:-1]) else text
    proper = any(
        _is_name(token.text) or (token.text[:1].isupper() and not (first and i == 0))
        for i, token in enumerate(run)
    )
    if named or proper:
        return vocabulary.canonical(text)
    if len(run) == 1 and head in _TOO_GENERIC:
        return None  # "management" alone says nothing
    if head in _PRACTICE_HEADS:
        return text
    if len(run) == 1 and _PRACTICE_SUFFIX.search(head) and len(head) > 5:
        return text
    if len(run) > 1 and _NOUN_OF_PRACTICE.search(head):
        return text  # "brand journalism", "long-form writing"
    return None


def _ends_in_credential(run: list[_Token]) -> bool:
    return run[-1].skill is None and run[-1].text.casefold() in _CREDENTIALS


def _is_credential_run(run: list[_Token]) -> bool:
    return len(run) >= 2 and _ends_in_credential(run)


def _all_names(run: list[_Token]) -> bool:
    return bool(run) and all(
        token.skill is not None or _is_name(token.text) or token.text.isdigit() for token in run
    )


def _join(run: list[_Token]) -> str:
    return " ".join(token.text for token in run).strip(" .'’")
