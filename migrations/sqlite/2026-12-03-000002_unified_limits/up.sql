-- Keystone's unified limits: defaults registered per service, region and
-- resource, and overrides per project or domain. `internal_id` keeps
-- Keystone's list order (insertion order).
CREATE TABLE registered_limits (
    internal_id   INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    service_id    TEXT NOT NULL,
    region_id     TEXT,
    resource_name TEXT NOT NULL,
    default_limit INTEGER NOT NULL,
    description   TEXT
);
CREATE UNIQUE INDEX registered_limits_unique
    ON registered_limits (service_id, COALESCE(region_id, ''), resource_name);

CREATE TABLE limits (
    internal_id         INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    id                  TEXT NOT NULL UNIQUE,
    project_id          TEXT,
    domain_id           TEXT,
    registered_limit_id TEXT NOT NULL REFERENCES registered_limits (id),
    resource_limit      INTEGER NOT NULL,
    description         TEXT
);
CREATE UNIQUE INDEX limits_unique
    ON limits (registered_limit_id, COALESCE(project_id, ''), COALESCE(domain_id, ''));
CREATE INDEX limits_project ON limits (project_id);
CREATE INDEX limits_domain ON limits (domain_id);
