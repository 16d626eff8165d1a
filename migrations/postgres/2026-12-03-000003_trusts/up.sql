-- OS-TRUST: a trustor delegates some of its roles on a project to a
-- trustee. Deleted trusts are kept with `deleted_at` (as Keystone does),
-- so a redelegation chain can still be read.
CREATE TABLE trusts (
    id                   TEXT PRIMARY KEY NOT NULL,
    trustor_user_id      TEXT NOT NULL,
    trustee_user_id      TEXT NOT NULL,
    project_id           TEXT,
    impersonation        BOOLEAN NOT NULL,
    expires_at           BIGINT,
    remaining_uses       INTEGER,
    redelegated_trust_id TEXT,
    redelegation_count   INTEGER NOT NULL DEFAULT 0,
    deleted_at           BIGINT,
    created_at           BIGINT NOT NULL
);
CREATE INDEX trusts_trustor ON trusts (trustor_user_id);
CREATE INDEX trusts_trustee ON trusts (trustee_user_id);
CREATE INDEX trusts_project ON trusts (project_id);

CREATE TABLE trust_roles (
    trust_id TEXT NOT NULL REFERENCES trusts (id),
    role_id  TEXT NOT NULL,
    PRIMARY KEY (trust_id, role_id)
);
