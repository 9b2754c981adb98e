-- The login throttle counts failures per username *and* client address, so
-- that a stranger guessing at a representative's password slows down only
-- themselves; a looser ceiling per username (summed over every address)
-- still stops a guess spread over many addresses. Counts are short-lived,
-- so the old table is replaced rather than migrated.
DROP TABLE login_throttle;
CREATE TABLE login_throttle (
    username        text NOT NULL,
    -- The client's IP address as the server saw it (or as a trusted proxy said).
    address         text NOT NULL,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz,
    PRIMARY KEY (username, address)
);
CREATE INDEX login_throttle_recent ON login_throttle (last_failure_at);
