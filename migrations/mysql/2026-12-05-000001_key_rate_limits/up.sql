-- A pair's own limit on successful verifications, as JSON
-- {"per_second", "burst"}; NULL: none.
ALTER TABLE credentials ADD COLUMN rate_limit TEXT;
-- Where replicas share the limits (PostgreSQL): each limited key's
-- theoretical arrival time (GCRA), in microseconds of the database clock.
-- A row whose time has passed means the same as no row; upkeep prunes
-- them.
CREATE TABLE `key_rates` (
    `key_id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `tat` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
