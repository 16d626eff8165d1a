-- The SHA-256 (hex) of an ec2 pair's current access key, by which signed
-- requests and OS-EC2 routes find it. Keystone derives a pair's id from
-- its access key once and keeps the id when a PATCH changes the access,
-- so the id alone no longer finds the pair after such a change.
ALTER TABLE credentials ADD COLUMN access_digest VARCHAR(255);
UPDATE credentials SET access_digest = id WHERE type = 'ec2';
CREATE UNIQUE INDEX credentials_access_digest ON `credentials` (`access_digest`);
