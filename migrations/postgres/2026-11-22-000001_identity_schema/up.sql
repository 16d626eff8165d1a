-- Ironstone's whole identity schema. Ids are 32-character lowercase hex
-- (Keystone's uuid4().hex) unless Keystone itself uses another form
-- (the "default" domain, region names, sha256 credential ids).
-- Every *_at column is UTC Unix time in microseconds (BIGINT), which both
-- backends compare and order the same way.

CREATE TABLE domains (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    extra       TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX domains_name ON domains (name);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    parent_id   TEXT REFERENCES projects (id),
    description TEXT,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    is_domain   BOOLEAN NOT NULL DEFAULT FALSE,
    extra       TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX projects_domain_name ON projects (domain_id, name);
CREATE INDEX projects_parent ON projects (parent_id);

CREATE TABLE project_tags (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    domain_id          TEXT NOT NULL REFERENCES domains (id),
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    default_project_id TEXT,
    extra              TEXT NOT NULL DEFAULT '{}',
    options            TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    last_active_at     BIGINT
);
CREATE UNIQUE INDEX users_domain_name ON users (domain_id, name);

-- Local passwords, newest last. Only the row with the highest created_at is
-- current; older rows are history for password-reuse rules.
CREATE TABLE passwords (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    self_service  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT
);
CREATE INDEX passwords_user ON passwords (user_id, created_at);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    description TEXT,
    extra       TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_domain_name ON groups (domain_id, name);

CREATE TABLE user_group_memberships (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_group_memberships_group ON user_group_memberships (group_id);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    -- '' for global roles, so that (domain_id, name) is unique on both backends.
    domain_id   TEXT NOT NULL DEFAULT '',
    description TEXT,
    options     TEXT NOT NULL DEFAULT '{}',
    extra       TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_domain_name ON roles (domain_id, name);

CREATE TABLE implied_roles (
    prior_role_id   TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    implied_role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

-- kind: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem, GroupSystem.
-- For system assignments target_id is 'system'.
CREATE TABLE role_assignments (
    kind      TEXT NOT NULL,
    actor_id  TEXT NOT NULL,
    target_id TEXT NOT NULL,
    role_id   TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    inherited BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (kind, actor_id, target_id, role_id, inherited)
);
CREATE INDEX role_assignments_actor ON role_assignments (actor_id);
CREATE INDEX role_assignments_target ON role_assignments (target_id);

CREATE TABLE regions (
    id               TEXT PRIMARY KEY NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    parent_region_id TEXT REFERENCES regions (id),
    extra            TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE services (
    id          TEXT PRIMARY KEY NOT NULL,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    description TEXT,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    extra       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX services_type ON services (type);

CREATE TABLE endpoints (
    id         TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    region_id  TEXT REFERENCES regions (id),
    interface  TEXT NOT NULL,
    url        TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    extra      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX endpoints_service ON endpoints (service_id);

-- Keystone's revocation_event table; times are microseconds but the
-- revocation rule compares whole seconds, as Keystone does.
CREATE TABLE revocation_events (
    id              TEXT PRIMARY KEY NOT NULL,
    domain_id       TEXT,
    project_id      TEXT,
    user_id         TEXT,
    role_id         TEXT,
    trust_id        TEXT,
    consumer_id     TEXT,
    access_token_id TEXT,
    issued_before   BIGINT NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT NOT NULL,
    audit_id        TEXT,
    audit_chain_id  TEXT
);
CREATE INDEX revocation_events_revoked_at ON revocation_events (revoked_at);
CREATE INDEX revocation_events_issued_before ON revocation_events (issued_before);
CREATE INDEX revocation_events_audit_id ON revocation_events (audit_id);
CREATE INDEX revocation_events_user_id ON revocation_events (user_id);

-- Keystone's credential table (encrypted_blob + key_hash) plus the key
-- metadata consoles expect. For type 'ec2' the id is sha256_hex(access).
CREATE TABLE credentials (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL,
    project_id     TEXT,
    type           TEXT NOT NULL,
    key_hash       TEXT NOT NULL,
    encrypted_blob TEXT NOT NULL,
    extra          TEXT NOT NULL DEFAULT '{}',
    name           TEXT,
    description    TEXT,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at     BIGINT,
    allowed_cidrs  TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    use_count      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX credentials_user ON credentials (user_id);
CREATE INDEX credentials_type ON credentials (type);

CREATE TABLE access_rules (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL,
    service     TEXT NOT NULL,
    path        TEXT NOT NULL,
    method      TEXT NOT NULL
);
CREATE UNIQUE INDEX access_rules_user_rule ON access_rules (user_id, service, path, method);

CREATE TABLE application_credentials (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    description  TEXT,
    user_id      TEXT NOT NULL,
    project_id   TEXT,
    system       TEXT,
    expires_at   BIGINT,
    unrestricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX application_credentials_user_name ON application_credentials (user_id, name);

CREATE TABLE application_credential_roles (
    application_credential_id TEXT NOT NULL REFERENCES application_credentials (id) ON DELETE CASCADE,
    role_id                   TEXT NOT NULL,
    PRIMARY KEY (application_credential_id, role_id)
);

CREATE TABLE application_credential_access_rules (
    application_credential_id TEXT NOT NULL REFERENCES application_credentials (id) ON DELETE CASCADE,
    access_rule_id            TEXT NOT NULL REFERENCES access_rules (id) ON DELETE CASCADE,
    PRIMARY KEY (application_credential_id, access_rule_id)
);
