-- Signatures already used, shared by every node so that a signed request
-- verifies at most once across the cluster. A row lives until the
-- signature could no longer verify (valid_until, Unix seconds); nodes
-- delete older rows. Nodes record a batch with one INSERT IGNORE per
-- digest: the rows affected say which were new.
CREATE TABLE `signature_replays` (
    `digest` VARBINARY(64) PRIMARY KEY NOT NULL,
    `valid_until` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX signature_replays_valid_until ON `signature_replays` (`valid_until`);
