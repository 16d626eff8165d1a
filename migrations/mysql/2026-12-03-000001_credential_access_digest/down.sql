DROP INDEX credentials_access_digest ON credentials;
ALTER TABLE credentials DROP COLUMN access_digest;
