DROP TABLE limits;
DROP TABLE registered_limits;
