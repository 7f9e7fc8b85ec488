-- Resumes (the uploaded file, its text and its parse) and job descriptions.
-- file, text and parsed are sensitive: only storage/documents.py reads or writes them.

CREATE TABLE resumes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    file BYTEA NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT,
    parsed TEXT,
    parser TEXT,
    parser_version INTEGER,
    archived_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX resumes_user_idx ON resumes (user_id, created_at);

CREATE TABLE job_descriptions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT,
    parsed TEXT,
    parser TEXT,
    parser_version INTEGER,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX job_descriptions_user_idx ON job_descriptions (user_id, created_at);
