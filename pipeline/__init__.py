"""The interview engine: live sessions, interviewer, parsing, questions, feedback."""
