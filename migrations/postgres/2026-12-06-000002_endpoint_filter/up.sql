-- OS-EP-FILTER: the endpoints a project's tokens see. A project with
-- any association (direct, or through an endpoint group) sees only
-- those endpoints in its catalog; a project with none sees them all.
CREATE TABLE project_endpoints (
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (endpoint_id, project_id)
);
CREATE INDEX project_endpoints_project ON project_endpoints (project_id);

-- An endpoint group selects endpoints by `filters`, a JSON object of
-- endpoint attributes (interface, service_id, region_id, enabled).
CREATE TABLE endpoint_groups (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    filters     TEXT NOT NULL
);

CREATE TABLE project_endpoint_groups (
    endpoint_group_id TEXT NOT NULL REFERENCES endpoint_groups (id) ON DELETE CASCADE,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (endpoint_group_id, project_id)
);
CREATE INDEX project_endpoint_groups_project ON project_endpoint_groups (project_id);
