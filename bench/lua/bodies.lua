-- POST a different body each request: the lines of BENCH_BODIES, split
-- between the threads, so no signed request is sent twice. Each request
-- is formatted once, in init, so that the load generator spends as
-- little of the shared cores per request as it does for get.lua.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  requests = {}
  local n = 0
  local step = tonumber(os.getenv("BENCH_THREADS"))
  local path = os.getenv("BENCH_PATH")
  local headers = {["Content-Type"] = "application/json", ["X-Auth-Token"] = os.getenv("ADMIN_TOKEN")}
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if n % step == id then table.insert(requests, wrk.format("POST", path, headers, line)) end
    n = n + 1
  end
  i = 0
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
