-- When an application credential last authenticated: the lifetime rule
-- that expires unused keys (credential.disable_unused_after) and the
-- console read it. Keystone keeps no such thing.
ALTER TABLE application_credentials ADD COLUMN last_used_at BIGINT;
