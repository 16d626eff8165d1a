DROP TABLE domain_config;
