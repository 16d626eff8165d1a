-- A domain's tags. In Keystone a domain is a project acting as a domain,
-- and its tags sit with the projects' ones; here domains have their own
-- table, so `POST /v3/domains`, `POST /v3/projects` with `is_domain` and
-- `/v3/projects/{domain_id}/tags` keep them as Keystone does.
CREATE TABLE `domain_tags` (
    `domain_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    PRIMARY KEY (`domain_id`, `name`),
    FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
