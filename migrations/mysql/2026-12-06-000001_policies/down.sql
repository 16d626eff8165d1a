DROP TABLE policy_associations;
DROP TABLE policies;
