"""The words that tell what an answer does: the cues the heuristic signals look for
(``pipeline.feedback.signals``) — a situation set, an action taken, a result with a
figure, a trade-off weighed, a design's components and flow, a judgement explained.
Each is one case-insensitive pattern of whole words and phrases."""

from __future__ import annotations

import re
from typing import Final


def _cues(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


SITUATION: Final = _cues(
    r"when i was",
    r"at my (?:last|previous|current|first) (?:job|role|company|team|employer)",
    r"at my (?:last|previous|current)",
    r"we had",
    r"there was",
    r"the situation",
    r"back in",
    r"in (?:19|20)\d\d",
    r"last (?:year|month|quarter|summer|winter|spring)",
    r"in my (?:last|previous|current|first) (?:role|job|team|position)",
    r"our (?:team|product|service|client|customer|company|ward|school|store|clinic)",
    r"i was working (?:at|on|as)",
    r"we were",
    r"a few (?:years|months) ago",
)
TASK: Final = _cues(
    r"my (?:task|job|goal|role|responsibility|aim) was",
    r"i (?:needed|had|wanted) to",
    r"the goal was",
    r"i was (?:asked|responsible|tasked|expected)",
    r"we needed to",
    r"the challenge was",
    r"the problem was",
    r"i had been asked",
    r"it was up to me",
)
CONSTRAINT: Final = _cues(
    r"deadline",
    r"before",
    r"within",
    r"without",
    r"budget",
    r"constraint\w*",
    r"only had",
    r"in time",
    r"by the end of",
)
ACTION: Final = re.compile(
    r"\bi (?:\w+ly )?(?:decided|built|wrote|designed|led|created|implemented|organi[sz]ed|"
    r"set up|proposed|talked|spoke|started|introduced|rewrote|measured|fixed|added|moved|"
    r"worked with|reached out|suggested|changed|ran|made|profiled|tested|reviewed|"
    r"analy[sz]ed|asked|called|checked|escalated|explained|scheduled|trained|coached|"
    r"mentored|negotiated|prioriti[sz]ed|planned|prepared|presented|automated|migrated|"
    r"replaced|split|delegated|documented|listened|met|researched|interviewed|sketched|"
    r"prototyped|shipped|deployed|monitored|rolled|wrapped|took|used|chose)\b",
    re.IGNORECASE,
)
RESULT: Final = _cues(
    r"as a result",
    r"in the end",
    r"which (?:led|meant|cut|saved|reduced|increased|helped)",
    r"the result",
    r"the outcome",
    r"we (?:shipped|delivered|launched|saved|reduced|cut|increased|won|hit|met)",
    r"reduced",
    r"increased",
    r"improved",
    r"saved",
    r"cut",
    r"grew",
    r"dropped",
    r"doubled",
    r"halved",
    r"outcome",
    r"afterwards",
    r"since then",
    r"it worked",
)
LEARNING: Final = _cues(
    r"i learned", r"i learnt", r"next time", r"differently", r"lesson", r"i now", r"since then i"
)
EXPLANATION: Final = _cues(
    r"because",
    r"which means",
    r"that means",
    r"so that",
    r"under the hood",
    r"internally",
    r"the reason",
    r"works by",
    r"in order to",
    r"that's why",
    r"which is why",
    r"this is because",
    r"the root cause",
    r"it turned out",
    r"since",
)
# "but" and "however" alone are how people talk; the others name what a choice cost.
CONTRAST: Final = _cues(r"but", r"however", r"although", r"though")
TRADE_OFF: Final = _cues(
    r"instead(?: of)?",
    r"rather than",
    r"on the other hand",
    r"trade.?offs?",
    r"cost\w*",
    r"downsides?",
    r"versus",
    r"vs",
    r"alternatives?",
    r"at the expense of",
    r"compromise\w*",
    r"whereas",
    r"the catch",
    r"pros and cons",
    r"drawbacks?",
    r"we gave up",
    r"in exchange",
    r"the price",
    r"penalty",
)
HEDGE: Final = _cues(
    r"i think", r"maybe", r"not sure", r"i guess", r"probably", r"kind of", r"i don't know"
)
SIGNPOST: Final = _cues(
    r"first(?:ly)?",
    r"second(?:ly)?",
    r"then",
    r"finally",
    r"to summari[sz]e",
    r"in short",
    r"step",
    r"next",
    r"lastly",
    r"to sum up",
    r"overall",
)
REQUIREMENT: Final = _cues(
    r"assum\w+",
    r"let's say",
    r"requirements?",
    r"we need to support",
    r"(?:it|the system) (?:should|must|needs to) (?:support|handle|allow|be)",
    r"functional",
    r"non-functional",
    r"constraints?",
    r"out of scope",
    r"clarif\w+",
    r"how many",
    r"read-heavy",
    r"write-heavy",
    r"latency targets?",
    r"slas?",
    r"availability",
    r"use cases?",
    r"who (?:uses|are the users)",
    r"i would ask",
    r"the users? (?:want|need)",
)
COMPONENT: Final = _cues(
    r"services?",
    r"apis?",
    r"endpoints?",
    r"load balancers?",
    r"gateways?",
    r"databases?",
    r"queues?",
    r"workers?",
    r"clients?",
    r"servers?",
    r"caches?",
    r"front.?end",
    r"back.?end",
    r"microservices?",
    r"storage",
    r"cdn",
    r"streams?",
    r"pub.?sub",
    r"brokers?",
    r"schedulers?",
    r"web ?sockets?",
    r"object store",
    r"search index",
    r"notification service",
)
FLOW: Final = _cues(
    r"goes to",
    r"sends?",
    r"calls?",
    r"writes? to",
    r"reads? from",
    r"forwards?",
    r"publish\w*",
    r"subscribes?",
    r"routes?",
    r"returns?",
    r"hands? off",
    r"pushes",
    r"pulls",
)
SCALING: Final = _cues(
    r"cach\w+",
    r"shard\w*",
    r"replica\w*",
    r"replicat\w+",
    r"partition\w*",
    r"index\w*",
    r"cdn",
    r"horizontal\w*",
    r"vertical\w*",
    r"consistent hashing",
    r"autoscal\w+",
    r"rate limit\w*",
    r"throughput",
    r"qps",
    r"rps",
    r"per second",
    r"load",
    r"peak",
    r"bottleneck\w*",
    r"eventual(?:ly)? consisten\w+",
    r"denormali[sz]\w+",
    r"batch\w*",
    r"read replicas?",
    r"hot keys?",
    r"fan.?out",
)
FIGURE_WITH_UNIT: Final = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:%|percent|x\b|times|ms|milliseconds?|seconds?|s\b|minutes?|hours?|"
    r"days?|gb|tb|mb|kb|pb|k\b|m\b|million|billion|thousand|users?|requests?|qps|rps|"
    r"writes?|reads?|messages?|events?|rows?|records?|per (?:second|minute|day))",
    re.IGNORECASE,
)
FIGURE: Final = re.compile(r"\d")
JUDGEMENT: Final = _cues(
    r"because",
    r"decided",
    r"prioriti[sz]\w*",
    r"weigh\w*",
    r"risks?",
    r"so that",
    r"the reason",
    r"considered",
    r"escalat\w+",
    r"chose",
    r"safety",
    r"first i (?:checked|made sure|asked)",
    r"made sure",
    r"balanc\w+",
    r"judg\w+",
    r"assess\w*",
)
EXAMPLE: Final = _cues(
    r"for example", r"for instance", r"once", r"one time", r"last week", r"i remember"
)
