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
