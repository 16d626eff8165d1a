-- Domain-specific configuration (`/v3/domains/{id}/config`): one row per
-- (domain, group, option). Whitelisted options keep their JSON value in
-- `value`; sensitive ones (the LDAP bind password) are never returned
-- and are stored only encrypted under the credential keys, with the key
-- they were encrypted under (so `credential migrate` re-encrypts them).
CREATE TABLE `domain_config` (
    `domain_id` VARCHAR(64) NOT NULL,
    `config_group` VARCHAR(255) NOT NULL,
    `config_option` VARCHAR(255) NOT NULL,
    `value` TEXT,
    `encrypted_value` TEXT,
    `key_hash` TEXT,
    PRIMARY KEY (`domain_id`, `config_group`, `config_option`),
    FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
