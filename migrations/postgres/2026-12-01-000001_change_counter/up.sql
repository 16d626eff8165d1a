-- One row counting the writes that may change what a node caches (see the
-- SQLite tree). PostgreSQL nodes hear each other through NOTIFY instead
-- and do not touch it; the table keeps the two trees in step.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY NOT NULL,
    n  BIGINT NOT NULL
);
INSERT INTO change_counter (id, n) VALUES (1, 0);
