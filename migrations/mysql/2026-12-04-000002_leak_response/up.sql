-- Leak response. Each key may say what happens when it is reported
-- leaked (none, disable, delete; NULL: the deployment's default), and
-- records when it was. Generated secrets keep a SHA-256 digest, by which
-- a reported secret finds its key without decrypting every blob; secrets
-- chosen by clients (weak ones included) keep none.
ALTER TABLE credentials ADD COLUMN secret_digest VARCHAR(255);
ALTER TABLE credentials ADD COLUMN action_when_leaked TEXT;
ALTER TABLE credentials ADD COLUMN leaked_at BIGINT;
CREATE INDEX credentials_secret_digest ON `credentials` (`secret_digest`);
ALTER TABLE application_credentials ADD COLUMN secret_digest VARCHAR(255);
ALTER TABLE application_credentials ADD COLUMN action_when_leaked TEXT;
ALTER TABLE application_credentials ADD COLUMN leaked_at BIGINT;
CREATE INDEX application_credentials_secret_digest ON `application_credentials` (`secret_digest`);
-- A report, and the digests of what it named (never the values). A report
-- is answered before it is processed, so its answer and timing say
-- nothing about what matched.
CREATE TABLE `leak_reports` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `reporter_id` TEXT NOT NULL,
    `source` TEXT,
    `received_at` BIGINT NOT NULL,
    `items` INTEGER NOT NULL,
    `processed_at` BIGINT,
    `matched` INTEGER
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `leak_report_items` (
    `report_id` VARCHAR(64) NOT NULL,
    `digest` VARCHAR(255) NOT NULL,
    PRIMARY KEY (`report_id`, `digest`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
