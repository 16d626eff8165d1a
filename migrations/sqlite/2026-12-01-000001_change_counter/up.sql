-- One row counting the writes that may change what a node caches. Every
-- such write transaction increments it, so a node polling it hears writes
-- made by other processes on the same database file (the CLI, an import),
-- and not the bookkeeping writes (key use counters) that leave caches valid.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY NOT NULL,
    n  BIGINT NOT NULL
);
INSERT INTO change_counter (id, n) VALUES (1, 0);
