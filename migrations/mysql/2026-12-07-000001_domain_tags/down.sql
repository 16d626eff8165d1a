DROP TABLE domain_tags;
