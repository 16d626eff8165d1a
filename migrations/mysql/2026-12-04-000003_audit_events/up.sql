-- The audit trail of keys: one CADF event per lifecycle change, written
-- in the change's own transaction. The columns beside the event are what
-- the listing filters on.
CREATE TABLE `audit_events` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `at` BIGINT NOT NULL,
    `action` TEXT NOT NULL,
    `outcome` TEXT NOT NULL,
    `key_kind` TEXT,
    `key_id` VARCHAR(64),
    `user_id` VARCHAR(64),
    `project_id` VARCHAR(64),
    `initiator_id` TEXT,
    `event` TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX audit_events_at ON `audit_events` (`at`, `id`);
CREATE INDEX audit_events_user ON `audit_events` (`user_id`, `at`);
CREATE INDEX audit_events_project ON `audit_events` (`project_id`, `at`);
CREATE INDEX audit_events_key ON `audit_events` (`key_id`, `at`);
