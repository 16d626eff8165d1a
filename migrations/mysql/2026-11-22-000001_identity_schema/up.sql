-- Ironstone's whole identity schema. Ids are 32-character lowercase hex
-- (Keystone's uuid4().hex) unless Keystone itself uses another form
-- (the "default" domain, region names, sha256 credential ids).
-- Every *_at column is UTC Unix time in microseconds (BIGINT), which both
-- backends compare and order the same way.

CREATE TABLE `domains` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `description` TEXT,
    `enabled` BOOLEAN NOT NULL DEFAULT TRUE,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `created_at` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX domains_name ON `domains` (`name`);

CREATE TABLE `projects` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `domain_id` VARCHAR(64) NOT NULL,
    `parent_id` VARCHAR(64),
    `description` TEXT,
    `enabled` BOOLEAN NOT NULL DEFAULT TRUE,
    `is_domain` BOOLEAN NOT NULL DEFAULT FALSE,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `created_at` BIGINT NOT NULL,
    FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`),
    FOREIGN KEY (`parent_id`) REFERENCES `projects` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX projects_domain_name ON `projects` (`domain_id`, `name`);
CREATE INDEX projects_parent ON `projects` (`parent_id`);

CREATE TABLE `project_tags` (
    `project_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    PRIMARY KEY (`project_id`, `name`),
    FOREIGN KEY (`project_id`) REFERENCES `projects` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `users` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `domain_id` VARCHAR(64) NOT NULL,
    `enabled` BOOLEAN NOT NULL DEFAULT TRUE,
    `default_project_id` TEXT,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `options` TEXT NOT NULL DEFAULT ('{}'),
    `created_at` BIGINT NOT NULL,
    `last_active_at` BIGINT,
    FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX users_domain_name ON `users` (`domain_id`, `name`);

-- Local passwords, newest last. Only the row with the highest created_at is
-- current; older rows are history for password-reuse rules.
CREATE TABLE `passwords` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `user_id` VARCHAR(64) NOT NULL,
    `password_hash` TEXT NOT NULL,
    `self_service` BOOLEAN NOT NULL DEFAULT FALSE,
    `created_at` BIGINT NOT NULL,
    `expires_at` BIGINT,
    FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX passwords_user ON `passwords` (`user_id`, `created_at`);

CREATE TABLE `groups` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `domain_id` VARCHAR(64) NOT NULL,
    `description` TEXT,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `created_at` BIGINT NOT NULL,
    FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX groups_domain_name ON `groups` (`domain_id`, `name`);

CREATE TABLE `user_group_memberships` (
    `user_id` VARCHAR(64) NOT NULL,
    `group_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`user_id`, `group_id`),
    FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`group_id`) REFERENCES `groups` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX user_group_memberships_group ON `user_group_memberships` (`group_id`);

CREATE TABLE `roles` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    -- '' for global roles, so that (domain_id, name) is unique on both backends.
    `domain_id` VARCHAR(64) NOT NULL DEFAULT '',
    `description` TEXT,
    `options` TEXT NOT NULL DEFAULT ('{}'),
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `created_at` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX roles_domain_name ON `roles` (`domain_id`, `name`);

CREATE TABLE `implied_roles` (
    `prior_role_id` VARCHAR(64) NOT NULL,
    `implied_role_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`prior_role_id`, `implied_role_id`),
    FOREIGN KEY (`prior_role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`implied_role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- kind: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem, GroupSystem.
-- For system assignments target_id is 'system'.
CREATE TABLE `role_assignments` (
    `kind` VARCHAR(255) NOT NULL,
    `actor_id` VARCHAR(64) NOT NULL,
    `target_id` VARCHAR(64) NOT NULL,
    `role_id` VARCHAR(64) NOT NULL,
    `inherited` BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (`kind`, `actor_id`, `target_id`, `role_id`, `inherited`),
    FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX role_assignments_actor ON `role_assignments` (`actor_id`);
CREATE INDEX role_assignments_target ON `role_assignments` (`target_id`);

CREATE TABLE `regions` (
    `id` VARCHAR(255) PRIMARY KEY NOT NULL,
    `description` TEXT NOT NULL DEFAULT (''),
    `parent_region_id` VARCHAR(255),
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    FOREIGN KEY (`parent_region_id`) REFERENCES `regions` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `services` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `type` VARCHAR(255) NOT NULL,
    `name` TEXT NOT NULL DEFAULT (''),
    `description` TEXT,
    `enabled` BOOLEAN NOT NULL DEFAULT TRUE,
    `extra` TEXT NOT NULL DEFAULT ('{}')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX services_type ON `services` (`type`);

CREATE TABLE `endpoints` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `service_id` VARCHAR(64) NOT NULL,
    `region_id` VARCHAR(255),
    `interface` TEXT NOT NULL,
    `url` TEXT NOT NULL,
    `enabled` BOOLEAN NOT NULL DEFAULT TRUE,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`region_id`) REFERENCES `regions` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX endpoints_service ON `endpoints` (`service_id`);

-- Keystone's revocation_event table; times are microseconds but the
-- revocation rule compares whole seconds, as Keystone does.
CREATE TABLE `revocation_events` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `domain_id` TEXT,
    `project_id` TEXT,
    `user_id` VARCHAR(64),
    `role_id` TEXT,
    `trust_id` TEXT,
    `consumer_id` TEXT,
    `access_token_id` TEXT,
    `issued_before` BIGINT NOT NULL,
    `expires_at` BIGINT,
    `revoked_at` BIGINT NOT NULL,
    `audit_id` VARCHAR(64),
    `audit_chain_id` TEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX revocation_events_revoked_at ON `revocation_events` (`revoked_at`);
CREATE INDEX revocation_events_issued_before ON `revocation_events` (`issued_before`);
CREATE INDEX revocation_events_audit_id ON `revocation_events` (`audit_id`);
CREATE INDEX revocation_events_user_id ON `revocation_events` (`user_id`);

-- Keystone's credential table (encrypted_blob + key_hash) plus the key
-- metadata consoles expect. For type 'ec2' the id is sha256_hex(access).
CREATE TABLE `credentials` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `user_id` VARCHAR(64) NOT NULL,
    `project_id` TEXT,
    `type` VARCHAR(255) NOT NULL,
    `key_hash` TEXT NOT NULL,
    `encrypted_blob` TEXT NOT NULL,
    `extra` TEXT NOT NULL DEFAULT ('{}'),
    `name` TEXT,
    `description` TEXT,
    `enabled` BOOLEAN NOT NULL DEFAULT TRUE,
    `expires_at` BIGINT,
    `allowed_cidrs` TEXT NOT NULL DEFAULT ('[]'),
    `created_at` BIGINT NOT NULL,
    `last_used_at` BIGINT,
    `use_count` BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX credentials_user ON `credentials` (`user_id`);
CREATE INDEX credentials_type ON `credentials` (`type`);

CREATE TABLE `access_rules` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `user_id` VARCHAR(64) NOT NULL,
    `service` VARCHAR(255) NOT NULL,
    `path` VARCHAR(255) NOT NULL,
    `method` VARCHAR(16) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX access_rules_user_rule ON `access_rules` (`user_id`, `service`, `path`, `method`);

CREATE TABLE `application_credentials` (
    `id` VARCHAR(64) PRIMARY KEY NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `secret_hash` TEXT NOT NULL,
    `description` TEXT,
    `user_id` VARCHAR(64) NOT NULL,
    `project_id` TEXT,
    `system` TEXT,
    `expires_at` BIGINT,
    `unrestricted` BOOLEAN NOT NULL DEFAULT FALSE,
    `created_at` BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX application_credentials_user_name ON `application_credentials` (`user_id`, `name`);

CREATE TABLE `application_credential_roles` (
    `application_credential_id` VARCHAR(64) NOT NULL,
    `role_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`application_credential_id`, `role_id`),
    FOREIGN KEY (`application_credential_id`) REFERENCES `application_credentials` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `application_credential_access_rules` (
    `application_credential_id` VARCHAR(64) NOT NULL,
    `access_rule_id` VARCHAR(64) NOT NULL,
    PRIMARY KEY (`application_credential_id`, `access_rule_id`),
    FOREIGN KEY (`application_credential_id`) REFERENCES `application_credentials` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`access_rule_id`) REFERENCES `access_rules` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
