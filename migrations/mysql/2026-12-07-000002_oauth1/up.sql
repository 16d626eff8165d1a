-- OS-OAUTH1 delegation. Keystone keeps the consumer, request-token and
-- access-token secrets in clear; here each is encrypted under the
-- credential keys (with the key it was encrypted under, so `credential
-- migrate` re-encrypts it), as it must be read back to check signatures.
-- A request token's verifier is kept only as its SHA-256.
CREATE TABLE `oauth_consumers` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `description` TEXT,
    `encrypted_secret` TEXT NOT NULL,
    `key_hash` TEXT NOT NULL,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `created_at` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `oauth_request_tokens` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `consumer_id` VARCHAR(64) NOT NULL,
    `encrypted_secret` TEXT NOT NULL,
    `key_hash` TEXT NOT NULL,
    `requested_project_id` TEXT NOT NULL,
    `verifier_digest` TEXT,
    `authorizing_user_id` TEXT,
    `role_ids` TEXT,
    `expires_at` BIGINT,
    `created_at` BIGINT NOT NULL,
    FOREIGN KEY (`consumer_id`) REFERENCES `oauth_consumers` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `oauth_access_tokens` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `consumer_id` VARCHAR(64) NOT NULL,
    `encrypted_secret` TEXT NOT NULL,
    `key_hash` TEXT NOT NULL,
    `authorizing_user_id` VARCHAR(64) NOT NULL,
    `project_id` TEXT NOT NULL,
    `role_ids` TEXT NOT NULL,
    `expires_at` BIGINT,
    `created_at` BIGINT NOT NULL,
    FOREIGN KEY (`consumer_id`) REFERENCES `oauth_consumers` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX oauth_access_tokens_user ON `oauth_access_tokens` (`authorizing_user_id`);
