ALTER TABLE application_credentials DROP COLUMN last_used_at;
