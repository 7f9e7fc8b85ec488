-- Feedback on interviews, quizzes and quiz attempts.
-- body (feedback), questions (quizzes), answers and results (attempts) are encrypted
-- (storage/crypto.py) by storage/feedback.py and storage/quizzes.py; summary holds only
-- numbers, for progress over time.

CREATE TABLE interview_feedback (
    interview_id TEXT PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    generation INTEGER NOT NULL,
    source TEXT,
    model TEXT,
    prompt_version TEXT,
    summary TEXT NOT NULL,
    body TEXT,
    error_code TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX interview_feedback_user_idx ON interview_feedback (user_id, updated_at);

CREATE TABLE quizzes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id TEXT,
    resume_id TEXT,
    interview_id TEXT,
    source TEXT NOT NULL,
    question_count INTEGER NOT NULL,
    questions TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX quizzes_user_idx ON quizzes (user_id, created_at);

CREATE TABLE quiz_attempts (
    id TEXT PRIMARY KEY,
    quiz_id TEXT NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grader TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    answers TEXT NOT NULL,
    results TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX quiz_attempts_quiz_idx ON quiz_attempts (quiz_id, created_at);
