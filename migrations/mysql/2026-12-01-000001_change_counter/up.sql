-- One row counting the writes that may change what a node caches. Every
-- such write transaction increments it as its last statement; each node
-- polls it (MariaDB and MySQL have no LISTEN/NOTIFY), so a change made on
-- any node empties the others' caches within one poll interval.
CREATE TABLE `change_counter` (
    `id` INTEGER PRIMARY KEY NOT NULL,
    `n` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO change_counter (id, n) VALUES (1, 0);
