-- Signatures already used, shared by every node so that a signed request
-- verifies at most once across the cluster. A row lives until the
-- signature could no longer verify (valid_until, Unix seconds); nodes
-- delete older rows. A logged table: its rows survive a crash and reach
-- standbys, so a failover does not reopen the window for replays.
CREATE TABLE signature_replays (
    digest      BYTEA PRIMARY KEY NOT NULL,
    valid_until BIGINT NOT NULL
);
CREATE INDEX signature_replays_valid_until ON signature_replays (valid_until);

-- Records a batch of digests and returns those that were new. One call
-- is one round trip on a statement the client prepares once, and its
-- plan is kept for the session (PL/pgSQL), so a batch costs no parsing.
CREATE FUNCTION ironstone_first_uses(digests BYTEA[], untils BIGINT[])
RETURNS BYTEA[] LANGUAGE plpgsql AS $$
DECLARE
    fresh BYTEA[];
BEGIN
    WITH inserted AS (
        INSERT INTO signature_replays (digest, valid_until)
        SELECT * FROM UNNEST(digests, untils)
        ON CONFLICT (digest) DO NOTHING
        RETURNING digest
    )
    SELECT coalesce(array_agg(digest), '{}') INTO fresh FROM inserted;
    RETURN fresh;
END
$$;
