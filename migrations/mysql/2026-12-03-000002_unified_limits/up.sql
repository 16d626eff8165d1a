-- Keystone's unified limits: defaults registered per service, region and
-- resource, and overrides per project or domain. `internal_id` keeps
-- Keystone's list order (insertion order).
CREATE TABLE `registered_limits` (
    `internal_id` BIGINT AUTO_INCREMENT PRIMARY KEY,
    `id` VARCHAR(64) NOT NULL UNIQUE,
    `service_id` VARCHAR(64) NOT NULL,
    `region_id` VARCHAR(255),
    `resource_name` VARCHAR(255) NOT NULL,
    `default_limit` INTEGER NOT NULL,
    `description` TEXT,
    -- MariaDB indexes no expressions: the unique key's NULL-as-'' column.
    `region_key` VARCHAR(255) AS (COALESCE(`region_id`, '')) STORED
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX registered_limits_unique
    ON `registered_limits` (`service_id`, `region_key`, `resource_name`);

CREATE TABLE `limits` (
    `internal_id` BIGINT AUTO_INCREMENT PRIMARY KEY,
    `id` VARCHAR(64) NOT NULL UNIQUE,
    `project_id` VARCHAR(64),
    `domain_id` VARCHAR(64),
    `registered_limit_id` VARCHAR(64) NOT NULL,
    `resource_limit` INTEGER NOT NULL,
    `description` TEXT,
    `project_key` VARCHAR(64) AS (COALESCE(`project_id`, '')) STORED,
    `domain_key` VARCHAR(64) AS (COALESCE(`domain_id`, '')) STORED,
    FOREIGN KEY (`registered_limit_id`) REFERENCES `registered_limits` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX limits_unique
    ON `limits` (`registered_limit_id`, `project_key`, `domain_key`);
CREATE INDEX limits_project ON `limits` (`project_id`);
CREATE INDEX limits_domain ON `limits` (`domain_id`);
