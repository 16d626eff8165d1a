-- OS-EP-FILTER: the endpoints a project's tokens see. A project with
-- any association (direct, or through an endpoint group) sees only
-- those endpoints in its catalog; a project with none sees them all.
CREATE TABLE `project_endpoints` (
    `endpoint_id` VARCHAR(64) NOT NULL,
    `project_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`endpoint_id`, `project_id`),
    FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`project_id`) REFERENCES `projects` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX project_endpoints_project ON `project_endpoints` (`project_id`);

-- An endpoint group selects endpoints by `filters`, a JSON object of
-- endpoint attributes (interface, service_id, region_id, enabled).
CREATE TABLE `endpoint_groups` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` TEXT NOT NULL,
    `description` TEXT,
    `filters` TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `project_endpoint_groups` (
    `endpoint_group_id` VARCHAR(64) NOT NULL,
    `project_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`endpoint_group_id`, `project_id`),
    FOREIGN KEY (`endpoint_group_id`) REFERENCES `endpoint_groups` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`project_id`) REFERENCES `projects` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX project_endpoint_groups_project ON `project_endpoint_groups` (`project_id`);
