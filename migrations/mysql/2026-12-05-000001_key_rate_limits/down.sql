DROP TABLE key_rates;
ALTER TABLE credentials DROP COLUMN rate_limit;
