-- When the person behind a refresh-token family last proved who they are (password or
-- provider sign-in). Every token rotated from the family carries it on, so an access token
-- got by refreshing tells the real sign-in time, not the refresh's. Families from before
-- this column have none: their sign-in time is unknown, and is treated as not recent.
ALTER TABLE refresh_tokens ADD COLUMN auth_time TIMESTAMPTZ;
