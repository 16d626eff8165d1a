-- GET BENCH_PATH (default /v3) with no token: the cost of an HTTP round
-- trip through the server, the reference every scenario is a fraction of.
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/v3"
