-- OS-TRUST: a trustor delegates some of its roles on a project to a
-- trustee. Deleted trusts are kept with `deleted_at` (as Keystone does),
-- so a redelegation chain can still be read.
CREATE TABLE `trusts` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `trustor_user_id` VARCHAR(64) NOT NULL,
    `trustee_user_id` VARCHAR(64) NOT NULL,
    `project_id` VARCHAR(64),
    `impersonation` BOOLEAN NOT NULL,
    `expires_at` BIGINT,
    `remaining_uses` INTEGER,
    `redelegated_trust_id` TEXT,
    `redelegation_count` INTEGER NOT NULL DEFAULT 0,
    `deleted_at` BIGINT,
    `created_at` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX trusts_trustor ON `trusts` (`trustor_user_id`);
CREATE INDEX trusts_trustee ON `trusts` (`trustee_user_id`);
CREATE INDEX trusts_project ON `trusts` (`project_id`);

CREATE TABLE `trust_roles` (
    `trust_id` VARCHAR(64) NOT NULL,
    `role_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`trust_id`, `role_id`),
    FOREIGN KEY (`trust_id`) REFERENCES `trusts` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
