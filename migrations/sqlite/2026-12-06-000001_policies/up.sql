-- Keystone's policy blobs (`/v3/policies`): opaque to the service,
-- stored for the clients that fetch them. `extra` holds the attributes
-- Keystone keeps beside blob and type, as a JSON object.
CREATE TABLE policies (
    id    TEXT PRIMARY KEY NOT NULL,
    blob  TEXT NOT NULL,
    type  TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX policies_type ON policies (type);

-- OS-ENDPOINT-POLICY: a policy for one endpoint, one service, or one
-- service in one region (and the regions below it). At most one policy
-- per target; an association goes with what it names (Keystone leaves it
-- dangling, which makes its lookups answer 404 until an admin removes it).
CREATE TABLE policy_associations (
    id          TEXT PRIMARY KEY NOT NULL,
    policy_id   TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    endpoint_id TEXT REFERENCES endpoints (id) ON DELETE CASCADE,
    service_id  TEXT REFERENCES services (id) ON DELETE CASCADE,
    region_id   TEXT REFERENCES regions (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX policy_associations_target ON policy_associations
    (COALESCE(endpoint_id, ''), COALESCE(service_id, ''), COALESCE(region_id, ''));
CREATE INDEX policy_associations_policy ON policy_associations (policy_id);
