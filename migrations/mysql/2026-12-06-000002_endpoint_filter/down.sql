DROP TABLE project_endpoint_groups;
DROP TABLE endpoint_groups;
DROP TABLE project_endpoints;
