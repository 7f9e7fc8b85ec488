-- Interviews, their finalized turns, and single-use tickets for the live WebSocket.

CREATE TABLE interviews (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    resume_id TEXT,
    job_id TEXT,
    question_count INTEGER NOT NULL,
    voice TEXT NOT NULL,
    questions TEXT NOT NULL,
    plan_source TEXT NOT NULL,
    end_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    last_activity_at TIMESTAMPTZ
);
CREATE INDEX interviews_user_idx ON interviews (user_id, created_at);

CREATE TABLE interview_turns (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    turn INTEGER NOT NULL,
    question TEXT NOT NULL,
    question_index INTEGER,
    interrupted BOOLEAN NOT NULL,
    answer TEXT NOT NULL,
    words TEXT NOT NULL,
    answer_audio_s DOUBLE PRECISION NOT NULL,
    metrics TEXT NOT NULL,
    interviewer_source TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (interview_id, turn)
);

CREATE TABLE live_tickets (
    ticket_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
