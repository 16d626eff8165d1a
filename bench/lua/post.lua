-- POST a fixed JSON body (BENCH_BODY_FILE) to BENCH_PATH, with the admin token.
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "r"))
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_TOKEN") then
  wrk.headers["X-Auth-Token"] = os.getenv("BENCH_TOKEN")
end
