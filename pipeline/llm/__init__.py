"""Chat models: the one home of everything that talks to an LLM provider.

``types`` says what a chat model is (``TextChat`` for streamed replies, ``JsonChat`` for
answers constrained to a schema); ``sdk`` adapts the OpenAI and Groq SDKs to both, and is
the only module that imports them; ``validated`` asks for JSON that passes a pydantic model
and the caller's checks, with one retry; ``schema`` writes the strict schemas;
``redact`` removes contact details from what is sent; ``scripted`` is the fake of tests.
Features (documents, questions, feedback, quizzes, the interviewer) call these; they do
not wrap the SDKs again.
"""
