-- GET /v3/auth/tokens: the caller's token and the token to validate.
wrk.method = "GET"
wrk.path = "/v3/auth/tokens"
wrk.headers["X-Auth-Token"] = os.getenv("ADMIN_TOKEN")
wrk.headers["X-Subject-Token"] = os.getenv("SUBJECT_TOKEN")
