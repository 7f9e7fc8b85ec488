-- Single-use links sent by e-mail (verification, password reset, e-mail change), stored
-- as SHA-256 hashes: the link itself exists only in the message.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);

-- Where a sign-in (a refresh-token family) came from, for the list of one's sessions:
-- the browser's user agent and the network prefix of its address, never the whole address.
ALTER TABLE refresh_tokens ADD COLUMN user_agent TEXT;
ALTER TABLE refresh_tokens ADD COLUMN ip_prefix TEXT;

-- Published versions of the privacy policy; a material change sends one notice per user.
CREATE TABLE policy_versions (
    version TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    material BOOLEAN NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE policy_notices (
    version TEXT NOT NULL REFERENCES policy_versions (version) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    queued_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (version, user_id)
);

-- The newest policy version the user has seen the notice banner of and acknowledged.
ALTER TABLE users ADD COLUMN policy_acked_version TEXT;
