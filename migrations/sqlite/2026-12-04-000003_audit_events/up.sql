-- The audit trail of keys: one CADF event per lifecycle change, written
-- in the change's own transaction. The columns beside the event are what
-- the listing filters on.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    key_kind TEXT,
    key_id TEXT,
    user_id TEXT,
    project_id TEXT,
    initiator_id TEXT,
    event TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
CREATE INDEX audit_events_project ON audit_events (project_id, at);
CREATE INDEX audit_events_key ON audit_events (key_id, at);
