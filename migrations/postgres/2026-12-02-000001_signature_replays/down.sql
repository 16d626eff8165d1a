DROP FUNCTION ironstone_first_uses(BYTEA[], BIGINT[]);
DROP TABLE signature_replays;
