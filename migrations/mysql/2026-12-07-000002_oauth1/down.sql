DROP TABLE oauth_access_tokens;
DROP TABLE oauth_request_tokens;
DROP TABLE oauth_consumers;
