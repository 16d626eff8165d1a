DROP INDEX credentials_access_digest;
ALTER TABLE credentials DROP COLUMN access_digest;
