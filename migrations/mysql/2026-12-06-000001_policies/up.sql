-- Keystone's policy blobs (`/v3/policies`): opaque to the service,
-- stored for the clients that fetch them. `extra` holds the attributes
-- Keystone keeps beside blob and type, as a JSON object.
CREATE TABLE `policies` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `blob` TEXT NOT NULL,
    `type` VARCHAR(255) NOT NULL,
    `extra` TEXT NOT NULL DEFAULT ('{}')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX policies_type ON `policies` (`type`);

-- OS-ENDPOINT-POLICY: a policy for one endpoint, one service, or one
-- service in one region (and the regions below it). At most one policy
-- per target; an association goes with what it names (Keystone leaves it
-- dangling, which makes its lookups answer 404 until an admin removes it).
CREATE TABLE `policy_associations` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `policy_id` VARCHAR(64) NOT NULL,
    `endpoint_id` VARCHAR(64),
    `service_id` VARCHAR(64),
    `region_id` VARCHAR(255),
    -- MariaDB indexes no expressions: the unique key's NULL-as-'' columns.
    `endpoint_key` VARCHAR(64) AS (COALESCE(`endpoint_id`, '')) STORED,
    `service_key` VARCHAR(64) AS (COALESCE(`service_id`, '')) STORED,
    `region_key` VARCHAR(255) AS (COALESCE(`region_id`, '')) STORED,
    FOREIGN KEY (`policy_id`) REFERENCES `policies` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`region_id`) REFERENCES `regions` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX policy_associations_target ON `policy_associations`
    (`endpoint_key`, `service_key`, `region_key`);
CREATE INDEX policy_associations_policy ON `policy_associations` (`policy_id`);
