-- Signatures already used, for clusters (see the PostgreSQL tree). A
-- SQLite database serves one node, whose in-memory replay cache is
-- enough; the table keeps the two trees in step.
CREATE TABLE signature_replays (
    digest      BLOB PRIMARY KEY NOT NULL,
    valid_until BIGINT NOT NULL
);
CREATE INDEX signature_replays_valid_until ON signature_replays (valid_until);
