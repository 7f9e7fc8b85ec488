"""Question banks: the questions of interviews with no resume or job description to
tailor from, and the general questions a tailored plan is filled up with.

Every question is tagged with the skills it probes and the kind of requirement
(``storage.types.RequirementType``) it speaks to, so a plan can say what it covers. The
banks hold nothing of any candidate: what the interviewer says from them may be prepared
once for everyone (``pipeline.interviewer.offline.GENERIC_PHRASES``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from storage.types import InterviewKind, PlannedQuestion, RequirementType


def _bank(
    kind: InterviewKind,
    requirement_type: RequirementType,
    *entries: tuple[str, str, tuple[str, ...]],
) -> tuple[PlannedQuestion, ...]:
    """Questions from ``(text, competency, tags)``; a question's competency is its first tag."""
    return tuple(
        PlannedQuestion(
            text,
            competency,
            kind=kind,
            tags=(competency, *tags),
            requirement_type=requirement_type,
        )
        for text, competency, tags in entries
    )


BEHAVIORAL: Final = _bank(
    "behavioral",
    "competency",
    (
        "Tell me about a time you had to deliver a project under a tight deadline. "
        "How did you approach it?",
        "prioritisation",
        ("time management",),
    ),
    (
        "Describe a disagreement you had with a colleague. How did you resolve it?",
        "collaboration",
        ("conflict resolution",),
    ),
    (
        "Tell me about a mistake you made at work and what you learned from it.",
        "ownership",
        ("learning",),
    ),
    (
        "Give me an example of a time you took the lead without being asked.",
        "leadership",
        ("initiative",),
    ),
    (
        "Describe a situation where you had to learn something new quickly.",
        "learning agility",
        (),
    ),
    (
        "Tell me about a time you received difficult feedback. What did you do with it?",
        "self-awareness",
        ("feedback",),
    ),
    (
        "Describe a project you are proud of. What was your part in its success?",
        "impact",
        ("ownership",),
    ),
    (
        "Tell me about a time you had to persuade someone who disagreed with you.",
        "influence",
        ("communication",),
    ),
    (
        "Describe a time you had more work than you could finish. What did you drop, "
        "and how did you decide?",
        "prioritisation",
        ("judgement",),
    ),
    (
        "Tell me about a time you had to work with someone whose style was very different "
        "from yours.",
        "collaboration",
        ("adaptability",),
    ),
    (
        "Give me an example of a goal you set for yourself and how you reached it.",
        "drive",
        ("planning",),
    ),
    (
        "Tell me about a time a plan fell apart halfway through. What did you do next?",
        "adaptability",
        ("resilience",),
    ),
    (
        "Describe a time you had to give a colleague difficult feedback.",
        "communication",
        ("feedback", "leadership"),
    ),
    (
        "Tell me about a time you noticed a problem nobody else had spotted.",
        "initiative",
        ("attention to detail",),
    ),
    (
        "Describe a decision you had to make without all the information you wanted.",
        "judgement",
        ("decision making",),
    ),
    (
        "Tell me about a time you helped a struggling teammate.",
        "teamwork",
        ("mentoring",),
    ),
    (
        "Give me an example of a time you had to explain something complicated to "
        "someone outside your field.",
        "communication",
        ("clarity",),
    ),
    (
        "Tell me about a time you failed to meet a commitment. How did you handle it?",
        "ownership",
        ("accountability",),
    ),
    (
        "Describe a time you changed the way your team worked for the better.",
        "continuous improvement",
        ("leadership",),
    ),
    (
        "Tell me about a time you dealt with an unhappy customer or stakeholder.",
        "stakeholder management",
        ("customer focus",),
    ),
    (
        "Describe a time you had to juggle several stakeholders who wanted different things.",
        "stakeholder management",
        ("negotiation",),
    ),
    (
        "Tell me about a time you worked under pressure. How did you keep your standards?",
        "resilience",
        ("quality",),
    ),
    (
        "Give me an example of a time you went beyond what your role asked of you.",
        "initiative",
        ("ownership",),
    ),
    (
        "Tell me about a time you had to say no to a request. How did you do it?",
        "communication",
        ("prioritisation",),
    ),
    (
        "Describe a time you had to adapt to a big change at work.",
        "adaptability",
        ("change management",),
    ),
    (
        "Tell me about the most difficult team situation you have been part of.",
        "teamwork",
        ("conflict resolution",),
    ),
    (
        "Describe a time you took a calculated risk. How did it turn out?",
        "judgement",
        ("risk",),
    ),
    (
        "Tell me about a time you mentored or trained someone.",
        "mentoring",
        ("leadership",),
    ),
    (
        "Give me an example of a time you made something simpler for the people who use it.",
        "customer focus",
        ("continuous improvement",),
    ),
    (
        "Tell me about a time you had to build trust with a new team.",
        "relationship building",
        ("collaboration",),
    ),
    (
        "Describe a time your work was criticised in public. How did you respond?",
        "self-awareness",
        ("resilience",),
    ),
    (
        "Tell me about a time you had to make an unpopular decision.",
        "leadership",
        ("judgement",),
    ),
    (
        "Give me an example of a time you used data to change someone's mind.",
        "influence",
        ("analysis",),
    ),
    (
        "Tell me about a time you spotted an ethical problem at work. What did you do?",
        "integrity",
        ("judgement",),
    ),
    (
        "Describe a time you had to finish work someone else had started.",
        "adaptability",
        ("ownership",),
    ),
    (
        "Tell me about a time you set the direction for a group.",
        "leadership",
        ("vision",),
    ),
    (
        "Describe the most useful thing you learned from a colleague.",
        "learning agility",
        ("teamwork",),
    ),
    (
        "Tell me about a time you had to recover a relationship that had gone wrong.",
        "relationship building",
        ("conflict resolution",),
    ),
    (
        "Give me an example of a time you worked with very little supervision.",
        "autonomy",
        ("ownership",),
    ),
    (
        "Tell me about a time you had to meet a standard you had never worked to before.",
        "learning agility",
        ("quality",),
    ),
    (
        "Describe a time you celebrated or recognised someone else's work.",
        "teamwork",
        ("leadership",),
    ),
    (
        "Tell me about a time you balanced quality against speed.",
        "judgement",
        ("prioritisation", "quality"),
    ),
)

TECHNICAL: Final = _bank(
    "technical",
    "skill",
    (
        "Walk me through the architecture of a system you built or worked on recently.",
        "system design",
        ("architecture",),
    ),
    (
        "Tell me about the hardest bug you have tracked down. How did you find it?",
        "debugging",
        (),
    ),
    (
        "How do you decide when code is ready to ship? What does your testing look like?",
        "quality",
        ("testing",),
    ),
    (
        "Describe a time you improved the performance of something. How did you measure it?",
        "performance",
        ("profiling",),
    ),
    (
        "How would you design a service that has to stay available when a dependency fails?",
        "reliability",
        ("fault tolerance",),
    ),
    (
        "Tell me about a technical decision you made that you would make differently today.",
        "judgement",
        ("trade-offs",),
    ),
    (
        "How do you approach reading and changing a large codebase you have never seen?",
        "code comprehension",
        ("maintainability",),
    ),
    (
        "Explain the difference between a process and a thread, and when you would use each.",
        "concurrency",
        ("operating systems",),
    ),
    (
        "How would you find out why a web page has become slow for some users?",
        "performance",
        ("debugging", "observability"),
    ),
    (
        "What makes a good code review, both as the author and as the reviewer?",
        "code review",
        ("collaboration", "quality"),
    ),
    (
        "How do you keep secrets such as passwords and keys out of code and logs?",
        "security",
        ("configuration",),
    ),
    (
        "Describe how you would roll out a risky change to production safely.",
        "deployment",
        ("reliability", "feature flags"),
    ),
    (
        "When would you choose a relational database over a document store, and why?",
        "databases",
        ("data modelling", "trade-offs"),
    ),
    (
        "Explain what an index does in a database and what it costs.",
        "databases",
        ("performance",),
    ),
    (
        "How do you design an API so that it can change without breaking its clients?",
        "api design",
        ("versioning",),
    ),
    (
        "Tell me about a time you paid down technical debt. How did you justify it?",
        "maintainability",
        ("prioritisation",),
    ),
    (
        "How would you test code that depends on the current time or on randomness?",
        "testing",
        ("design for testability",),
    ),
    (
        "What happens, step by step, when you type an address into a browser and press enter?",
        "networking",
        ("web fundamentals",),
    ),
    (
        "How do you handle errors in a program so that failures are clear and recoverable?",
        "error handling",
        ("reliability",),
    ),
    (
        "Explain a race condition you have seen or could imagine, and how to prevent it.",
        "concurrency",
        ("correctness",),
    ),
    (
        "How do you decide how much to log, and what to put in a log line?",
        "observability",
        ("logging",),
    ),
    (
        "Describe how you would make a slow batch job finish in half the time.",
        "performance",
        ("parallelism",),
    ),
    (
        "What is caching good for, and what can go wrong with it?",
        "caching",
        ("performance", "consistency"),
    ),
    (
        "How would you explain the cost of an algorithm to a colleague, using an example "
        "from your work?",
        "algorithms",
        ("complexity",),
    ),
    (
        "Tell me about a time you had to choose between two libraries or frameworks.",
        "judgement",
        ("trade-offs", "tooling"),
    ),
    (
        "How do you approach a code change that touches data already stored, such as a "
        "schema migration?",
        "data migration",
        ("databases", "reliability"),
    ),
    (
        "What does a useful automated test suite look like to you, and what do you leave out?",
        "testing",
        ("quality",),
    ),
    (
        "How do you make sure a program handles untrusted input safely?",
        "security",
        ("input validation",),
    ),
    (
        "Walk me through how you would debug a memory leak.",
        "debugging",
        ("memory management",),
    ),
    (
        "How do you version, build and release the software you work on?",
        "release engineering",
        ("continuous integration",),
    ),
    (
        "Explain the trade-offs between synchronous calls and a message queue between two "
        "services.",
        "distributed systems",
        ("messaging", "trade-offs"),
    ),
    (
        "Tell me about a time you automated a manual task. What did it save?",
        "automation",
        ("productivity",),
    ),
    (
        "How would you structure a project so that a new developer can work on it in a day?",
        "maintainability",
        ("documentation", "tooling"),
    ),
    (
        "What do you look for when you review the design of a data model?",
        "data modelling",
        ("databases",),
    ),
    (
        "How do you keep a dependency update from breaking production?",
        "dependency management",
        ("testing", "reliability"),
    ),
    (
        "Describe how authentication and authorisation differ, with an example of each.",
        "security",
        ("authentication",),
    ),
    (
        "How would you investigate a test that fails only sometimes?",
        "debugging",
        ("testing", "concurrency"),
    ),
    (
        "What do you measure to know that a service is healthy?",
        "observability",
        ("monitoring", "reliability"),
    ),
    (
        "Tell me about a piece of code you are proud of. What makes it good?",
        "code quality",
        ("craft",),
    ),
    (
        "How do you decide between writing something yourself and using an existing tool?",
        "judgement",
        ("build versus buy",),
    ),
    (
        "Explain how you would make an operation safe to retry.",
        "distributed systems",
        ("idempotency", "reliability"),
    ),
    (
        "How do you work out what a piece of legacy code is supposed to do before changing it?",
        "code comprehension",
        ("testing", "maintainability"),
    ),
)

SYSTEM_DESIGN: Final = _bank(
    "system_design",
    "skill",
    ("Design a URL shortener like the ones social networks use.", "system design", ("hashing",)),
    (
        "Design a chat service where people can message each other and see when they are online.",
        "real-time systems",
        ("messaging", "presence"),
    ),
    (
        "Design the news feed of a social network.",
        "feeds",
        ("fan-out", "caching"),
    ),
    (
        "Design a rate limiter that protects an API used by thousands of clients.",
        "rate limiting",
        ("distributed systems",),
    ),
    (
        "Design a file storage and sharing service such as a shared drive.",
        "storage",
        ("synchronisation", "blob storage"),
    ),
    (
        "Design a system that sends notifications by e-mail, text message and push.",
        "messaging",
        ("queues", "delivery guarantees"),
    ),
    (
        "Design a video streaming service for on-demand films and series.",
        "media delivery",
        ("content delivery networks", "encoding"),
    ),
    (
        "Design a ride-hailing service that matches riders with nearby drivers.",
        "geospatial systems",
        ("matching", "real-time systems"),
    ),
    (
        "Design search for an online shop with millions of products.",
        "search",
        ("indexing", "ranking"),
    ),
    (
        "Design a web crawler that can fetch a billion pages a month.",
        "crawling",
        ("scheduling", "politeness"),
    ),
    (
        "Design an online booking system for a chain of hotels.",
        "transactions",
        ("consistency", "inventory"),
    ),
    (
        "Design a payment system that must never charge a customer twice.",
        "payments",
        ("idempotency", "consistency"),
    ),
    (
        "Design a metrics and monitoring system that collects data from thousands of servers.",
        "observability",
        ("time series", "aggregation"),
    ),
    (
        "Design a distributed cache that many services share.",
        "caching",
        ("consistent hashing", "eviction"),
    ),
    (
        "Design a key-value store that keeps working when a machine fails.",
        "distributed storage",
        ("replication", "consensus"),
    ),
    (
        "Design a job scheduler that runs millions of background tasks a day.",
        "scheduling",
        ("queues", "retries"),
    ),
    (
        "Design an autocomplete service for a search box.",
        "search",
        ("tries", "latency"),
    ),
    (
        "Design a ticketing system for concerts where thousands of fans buy at the same moment.",
        "high contention",
        ("queues", "inventory"),
    ),
    (
        "Design a collaborative document editor where several people type at once.",
        "real-time collaboration",
        ("conflict resolution", "synchronisation"),
    ),
    (
        "Design a photo-sharing service with uploads, albums and comments.",
        "media storage",
        ("blob storage", "content delivery networks"),
    ),
    (
        "Design a leaderboard for an online game with millions of players.",
        "ranking",
        ("sorted sets", "caching"),
    ),
    (
        "Design a system that detects fraudulent card payments as they happen.",
        "stream processing",
        ("machine learning", "latency"),
    ),
    (
        "Design an API gateway in front of dozens of internal services.",
        "api design",
        ("routing", "authentication"),
    ),
    (
        "Design a logging pipeline that collects, stores and searches application logs.",
        "observability",
        ("ingestion", "indexing"),
    ),
    (
        "Design an online multiplayer quiz game for a live audience.",
        "real-time systems",
        ("websockets", "fan-out"),
    ),
    (
        "Design the back end of a food delivery app.",
        "marketplaces",
        ("geospatial systems", "state machines"),
    ),
    (
        "Design a system that recommends products to shoppers.",
        "recommendations",
        ("batch processing", "feature stores"),
    ),
    (
        "Design a service that turns uploaded documents into searchable text.",
        "pipelines",
        ("queues", "workers"),
    ),
    (
        "Design a calendar service that handles invitations across time zones.",
        "scheduling",
        ("data modelling", "notifications"),
    ),
    (
        "Design a system for an electronic health record that many clinics use.",
        "regulated data",
        ("privacy", "access control"),
    ),
    (
        "Design a feature flag service that product teams use to roll out changes.",
        "configuration",
        ("consistency", "low latency"),
    ),
    (
        "Design the inventory system of a warehouse that ships orders all day.",
        "transactions",
        ("inventory", "consistency"),
    ),
    (
        "Design a system that lets millions of people vote in a live television poll.",
        "high write throughput",
        ("aggregation", "fraud prevention"),
    ),
    (
        "Design an e-mail service that stores and searches years of messages.",
        "storage",
        ("search", "multi-tenancy"),
    ),
    (
        "Design a data pipeline that turns raw events into daily reports.",
        "data engineering",
        ("batch processing", "data warehouse"),
    ),
    (
        "Design a service that hands out unique identifiers to many machines at once.",
        "distributed systems",
        ("uniqueness", "clocks"),
    ),
    (
        "Design a parking-garage system that shows free spaces and takes payments.",
        "iot systems",
        ("payments", "state machines"),
    ),
    (
        "Design a content moderation system for user posts.",
        "workflow systems",
        ("queues", "machine learning"),
    ),
    (
        "Design a live location-sharing feature for a map app.",
        "geospatial systems",
        ("real-time systems", "privacy"),
    ),
    (
        "Design an online code judge that runs untrusted submissions.",
        "sandboxing",
        ("security", "queues"),
    ),
    (
        "Design a system to back up millions of phones every night.",
        "storage",
        ("deduplication", "scheduling"),
    ),
    (
        "Design a multi-region setup for a service that must survive a data centre outage.",
        "reliability",
        ("replication", "failover"),
    ),
)

ROLE: Final = _bank(
    "role",
    "responsibility",
    (
        "Walk me through a typical day in your current role. What takes most of your time?",
        "role understanding",
        ("workflow",),
    ),
    (
        "What standards or rules govern your work, and how do you keep to them?",
        "compliance",
        ("quality",),
    ),
    (
        "Tell me about the hardest judgement call your work has asked of you.",
        "judgement",
        ("decision making",),
    ),
    (
        "How do you keep your professional knowledge up to date?",
        "professional development",
        ("learning",),
    ),
    (
        "Describe how you hand over work to a colleague so nothing is lost.",
        "handover",
        ("communication",),
    ),
    (
        "What does doing this job well look like to you, and how would you know?",
        "role understanding",
        ("quality",),
    ),
    (
        "Tell me about a time you caught an error before it reached the people you serve.",
        "safety",
        ("attention to detail",),
    ),
    (
        "How do you prioritise when several urgent things need you at once?",
        "prioritisation",
        ("workflow",),
    ),
    (
        "Describe a tool or system you rely on every day, and how you use it well.",
        "tools",
        ("workflow",),
    ),
    (
        "How do you explain your work to people who do not share your background?",
        "communication",
        ("clarity",),
    ),
    (
        "Tell me about a time you had to follow a procedure you disagreed with.",
        "compliance",
        ("judgement",),
    ),
    (
        "What would you do in your first month in this role?",
        "role understanding",
        ("planning",),
    ),
    (
        "Describe a time you improved a process in your field.",
        "continuous improvement",
        ("workflow",),
    ),
    (
        "How do you know when to ask for help and when to decide on your own?",
        "judgement",
        ("autonomy",),
    ),
    (
        "Tell me about a time you worked with another profession or department to get "
        "something done.",
        "collaboration",
        ("teamwork",),
    ),
    (
        "What is the most common mistake people new to this work make, and how do you avoid it?",
        "domain knowledge",
        ("mentoring",),
    ),
    (
        "How do you document your work, and who relies on that record?",
        "documentation",
        ("compliance",),
    ),
    (
        "Describe a situation where the people you serve needed something the rules did not allow.",
        "judgement",
        ("integrity",),
    ),
    (
        "Tell me about a time you had to learn a new system or method for this kind of work.",
        "learning agility",
        ("tools",),
    ),
    (
        "How do you stay calm and effective when the work gets busy or stressful?",
        "resilience",
        ("workload",),
    ),
    (
        "What measures do you use to judge the quality of your work?",
        "quality",
        ("metrics",),
    ),
    (
        "Describe a time you trained or supported someone new in your field.",
        "mentoring",
        ("training",),
    ),
    (
        "Tell me about a complaint or concern someone raised about your work, and how you "
        "handled it.",
        "customer focus",
        ("communication",),
    ),
    (
        "How do you handle confidential or sensitive information in your job?",
        "confidentiality",
        ("compliance", "privacy"),
    ),
    (
        "What risks are specific to this kind of work, and how do you manage them?",
        "risk management",
        ("safety",),
    ),
    (
        "Describe the part of this job you find hardest, and how you have got better at it.",
        "self-awareness",
        ("professional development",),
    ),
    (
        "Tell me about a time resources were short. How did you still get the work done?",
        "resourcefulness",
        ("prioritisation",),
    ),
    (
        "How do you make sure instructions you give or receive are understood?",
        "communication",
        ("safety",),
    ),
    (
        "Which qualification or certification has mattered most in your work, and why?",
        "qualifications",
        ("professional development",),
    ),
    (
        "Describe a time you had to escalate a problem. How did you decide to?",
        "escalation",
        ("judgement",),
    ),
    (
        "Tell me about a result in your field you are proud of, and your part in it.",
        "impact",
        ("ownership",),
    ),
    (
        "How do you plan your work across a week or a shift?",
        "planning",
        ("workflow",),
    ),
    (
        "What would you change about how this work is usually done, and why?",
        "continuous improvement",
        ("judgement",),
    ),
    (
        "Describe a time you had to deliver bad news to someone you work for or with.",
        "communication",
        ("empathy",),
    ),
    (
        "How do you check your own work before it goes out?",
        "quality",
        ("attention to detail",),
    ),
    (
        "Tell me about a time you adapted your approach to one particular person's needs.",
        "empathy",
        ("customer focus",),
    ),
    (
        "What part of this role do you expect to learn most in, and how will you go about it?",
        "learning agility",
        ("role understanding",),
    ),
    (
        "Describe an unexpected problem on the job and how you dealt with it on the spot.",
        "problem solving",
        ("adaptability",),
    ),
    (
        "How do you work with a manager or lead whose priorities differ from yours?",
        "stakeholder management",
        ("communication",),
    ),
    (
        "Tell me about a time you kept a commitment that was hard to keep.",
        "reliability",
        ("ownership",),
    ),
    (
        "Which professional value matters most to you in this kind of work, and when was "
        "it tested?",
        "integrity",
        ("values",),
    ),
    (
        "Describe how you would measure your own success after a year in this role.",
        "role understanding",
        ("metrics",),
    ),
)


# Role questions of one profession: a role interview for a job of that domain asks these
# first among the untailored ones. A domain is found in the job's title and requirements
# by its words (``pipeline.planner``).
DOMAIN_WORDS: Final[Mapping[str, str]] = {
    "healthcare": r"nurs\w*|patient\w*|clinic\w*|hospital\w*|ward|care home|"
    r"medic\w*|midwi\w*|pharmac\w*|ehr|emr|epic|health ?care|bls|acls",
    "design": r"design\w*|ux|ui|figma|prototyp\w*|user research|usability|"
    r"interaction|visual|brand\w*",
    "teaching": r"teach\w*|classroom\w*|pupil\w*|student\w*|curricul\w*|lesson\w*|"
    r"school\w*|tutor\w*|qts|safeguarding",
    "sales": r"sales|quota\w*|pipeline|prospect\w*|account executive|crm|salesforce|"
    r"deal\w*|revenue|business development",
    "finance": r"financ\w*|accountan\w*|accounting|audit\w*|cpa|acca|ledger\w*|"
    r"reconcil\w*|budget\w*|forecast\w*|tax\w*|ifrs|gaap",
    "trades": r"electrician\w*|plumb\w*|carpent\w*|wiring|apprentice\w*|hvac|"
    r"weld\w*|site|trade\w*|journeyman|installation\w*",
    "hospitality": r"hospitality|hotel\w*|restaurant\w*|guest\w*|chef\w*|kitchen\w*|"
    r"front of house|bar|food safety|housekeeping",
    "data": r"data scien\w*|analyst|analytics|machine learning|statistic\w*|"
    r"dashboard\w*|sql|etl|data engineer\w*",
    "product": r"product manag\w*|product owner|roadmap\w*|discovery|backlog|"
    r"stakeholder\w*|okrs?",
    "software": r"software|engineer\w*|developer\w*|backend|frontend|devops|"
    r"python|java|kubernetes|api\w*",
}
DOMAIN_QUESTIONS: Final[Mapping[str, tuple[PlannedQuestion, ...]]] = {
    "healthcare": _bank(
        "role",
        "responsibility",
        (
            "Tell me about a time you noticed a risk to a patient's safety. What did you "
            "do, and who did you tell?",
            "patient safety",
            ("escalation", "clinical judgement"),
        ),
        (
            "Walk me through how you organise a shift's clinical workflow when several "
            "patients need you at once.",
            "clinical workflows",
            ("prioritisation", "triage"),
        ),
        (
            "How do you make sure medication is given safely, from the order to the patient?",
            "medication safety",
            ("patient safety", "compliance"),
        ),
        (
            "Describe a handover you gave or received that went wrong, and what you "
            "changed afterwards.",
            "clinical handover",
            ("communication", "patient safety"),
        ),
        (
            "Tell me about a time a patient or their family was distressed. How did you "
            "support them?",
            "patient care",
            ("empathy", "communication"),
        ),
        (
            "How do you keep patient records accurate and complete when the ward is busy?",
            "clinical documentation",
            ("electronic health records",),
        ),
    ),
    "design": _bank(
        "role",
        "responsibility",
        (
            "Walk me through the user research behind a design you shipped: what did you "
            "learn, and what did it change?",
            "user research",
            ("usability testing",),
        ),
        (
            "Tell me about a design critique where your work was challenged. How did you "
            "respond, and what changed?",
            "design critique",
            ("feedback", "collaboration"),
        ),
        (
            "How do you give useful critique on a colleague's design?",
            "design critique",
            ("communication",),
        ),
        (
            "Describe a time you had to balance what users needed with what the business "
            "or engineering could do.",
            "product thinking",
            ("stakeholder management",),
        ),
        (
            "How do you contribute to or keep a design system consistent?",
            "design systems",
            ("consistency",),
        ),
        (
            "Tell me about a design you tested with users that did not work. What did you do next?",
            "usability testing",
            ("iteration",),
        ),
    ),
    "teaching": _bank(
        "role",
        "responsibility",
        (
            "Tell me about a lesson that did not go to plan. How did you adapt it in the moment?",
            "classroom practice",
            ("adaptability",),
        ),
        (
            "How do you plan for pupils of very different abilities in one class?",
            "differentiation",
            ("lesson planning",),
        ),
        (
            "Describe how you manage behaviour when a class becomes disruptive.",
            "behaviour management",
            ("classroom practice",),
        ),
        (
            "How do you check what your pupils have actually learned?",
            "assessment",
            ("feedback",),
        ),
        (
            "Tell me about a safeguarding concern you raised or would raise, and how.",
            "safeguarding",
            ("escalation", "compliance"),
        ),
    ),
    "sales": _bank(
        "role",
        "responsibility",
        (
            "Walk me through a deal you closed, from first contact to signature.",
            "sales process",
            ("negotiation",),
        ),
        (
            "Tell me about a deal you lost. What did you learn from it?",
            "sales process",
            ("self-awareness",),
        ),
        (
            "How do you build and keep your pipeline healthy?",
            "pipeline management",
            ("prospecting", "crm"),
        ),
        (
            "How do you handle a customer's objection about price?",
            "objection handling",
            ("negotiation",),
        ),
        (
            "Describe a time you missed your target. What did you change?",
            "quota attainment",
            ("resilience",),
        ),
    ),
    "finance": _bank(
        "role",
        "responsibility",
        (
            "Walk me through how you close the books at month end.",
            "month-end close",
            ("reconciliation",),
        ),
        (
            "Tell me about a discrepancy you found in the accounts and how you traced it.",
            "reconciliation",
            ("attention to detail",),
        ),
        (
            "How do you build a forecast, and how do you explain when actual figures "
            "differ from it?",
            "forecasting",
            ("budgeting", "communication"),
        ),
        (
            "Describe how you prepare for an audit.",
            "audit",
            ("compliance", "documentation"),
        ),
        (
            "How do you explain a financial risk to someone without a finance background?",
            "financial communication",
            ("risk management",),
        ),
    ),
    "trades": _bank(
        "role",
        "responsibility",
        (
            "Walk me through how you make a job site safe before you start work.",
            "site safety",
            ("risk assessment",),
        ),
        (
            "Tell me about a fault you diagnosed that others had missed.",
            "fault finding",
            ("problem solving",),
        ),
        (
            "How do you make sure your work meets the regulations and passes inspection?",
            "regulations",
            ("quality", "compliance"),
        ),
        (
            "Describe a job where the plans did not match what you found on site.",
            "adaptability on site",
            ("problem solving",),
        ),
        (
            "How do you explain to a customer what work is needed and what it will cost?",
            "customer communication",
            ("estimating",),
        ),
    ),
    "hospitality": _bank(
        "role",
        "responsibility",
        (
            "Tell me about a guest complaint you turned around.",
            "guest experience",
            ("service recovery",),
        ),
        (
            "How do you keep service running smoothly during the busiest hour?",
            "service operations",
            ("teamwork", "prioritisation"),
        ),
        (
            "Walk me through how you keep to food safety and hygiene standards.",
            "food safety",
            ("compliance",),
        ),
        (
            "Describe how you train a new team member during a live service.",
            "training",
            ("mentoring",),
        ),
        (
            "How do you handle a guest who has an allergy or special request?",
            "guest safety",
            ("attention to detail",),
        ),
    ),
    "data": _bank(
        "role",
        "responsibility",
        (
            "Walk me through an analysis that changed a decision. How did you make the case?",
            "analysis",
            ("stakeholder communication",),
        ),
        (
            "How do you check that the data you are given is fit to use?",
            "data quality",
            ("validation",),
        ),
        (
            "Tell me about a model or metric that misled people. How did you find out?",
            "statistical judgement",
            ("metrics",),
        ),
        (
            "How do you decide which metric a team should watch?",
            "metrics",
            ("product thinking",),
        ),
        (
            "Describe how you explain uncertainty in your results to a non-specialist.",
            "communication",
            ("statistics",),
        ),
    ),
    "product": _bank(
        "role",
        "responsibility",
        (
            "Walk me through how you decided what went on your last roadmap.",
            "roadmapping",
            ("prioritisation",),
        ),
        (
            "Tell me about a feature you shipped that users did not adopt. What did you do?",
            "product discovery",
            ("metrics",),
        ),
        (
            "How do you run discovery with users before committing the team to build?",
            "product discovery",
            ("user research",),
        ),
        (
            "Describe a time you said no to an important stakeholder.",
            "stakeholder management",
            ("prioritisation",),
        ),
        (
            "How do you know a product change worked?",
            "product metrics",
            ("experimentation",),
        ),
    ),
    "software": _bank(
        "role",
        "responsibility",
        (
            "Tell me about a production incident you handled. What did you do first?",
            "incident response",
            ("reliability",),
        ),
        (
            "How do you work with product and design on what to build?",
            "cross-functional work",
            ("collaboration",),
        ),
        (
            "Walk me through how a change of yours goes from idea to production.",
            "delivery",
            ("code review", "testing"),
        ),
        (
            "How do you keep a service you own maintainable as it grows?",
            "ownership",
            ("maintainability",),
        ),
        (
            "Describe how you help a new engineer become productive on your team.",
            "mentoring",
            ("onboarding",),
        ),
    ),
}


def interleave(*pools: Sequence[PlannedQuestion]) -> list[PlannedQuestion]:
    """One question of each pool in turn, in the order given; a pool that runs out is
    skipped."""
    merged: list[PlannedQuestion] = []
    for index in range(max((len(pool) for pool in pools), default=0)):
        merged.extend(pool[index] for pool in pools if index < len(pool))
    return merged


BANKS: Final[Mapping[InterviewKind, tuple[PlannedQuestion, ...]]] = {
    "behavioral": BEHAVIORAL,
    "technical": TECHNICAL,
    "system_design": SYSTEM_DESIGN,
    "role": ROLE,
    # Each kind in turn, starting with a behavioural question; every question keeps its
    # own kind, whose rubric scores it.
    "mixed": tuple(interleave(BEHAVIORAL, TECHNICAL, SYSTEM_DESIGN, ROLE)),
}
# Every question of every bank: what the interviewer may say to anyone.
ALL_BANK_QUESTIONS: Final = (
    *BEHAVIORAL,
    *TECHNICAL,
    *SYSTEM_DESIGN,
    *ROLE,
    *(question for pack in DOMAIN_QUESTIONS.values() for question in pack),
)


def fresh_first(
    pool: Sequence[PlannedQuestion], recent: Sequence[frozenset[str]]
) -> list[PlannedQuestion]:
    """``pool`` with the questions asked in none of the ``recent`` interviews (newest
    first, as texts) first, in the pool's order; then those asked, least recently asked
    first. So a plan repeats a question only when the pool has run out of fresh ones."""

    def last_asked(question: PlannedQuestion) -> int:
        # How many interviews ago it was last asked, counted back from the oldest:
        # never asked sorts first, asked in the newest interview last.
        for age, texts in enumerate(recent):
            if question.text in texts:
                return len(recent) - age
        return 0

    return sorted(pool, key=last_asked)


def default_plan(
    kind: InterviewKind, count: int, recent: Sequence[frozenset[str]] = ()
) -> list[PlannedQuestion]:
    """``count`` questions for an interview of ``kind``, always the same for the same
    input; none asked in the ``recent`` interviews while the bank has others."""
    pool = fresh_first(BANKS[kind], recent)
    return list(pool[: max(1, min(count, len(pool)))])
