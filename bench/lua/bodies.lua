-- POST a different body each request: the lines of BENCH_BODIES, split
-- between the threads, so no signed request is sent twice.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  bodies = {}
  local n = 0
  local step = tonumber(os.getenv("BENCH_THREADS"))
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if n % step == id then table.insert(bodies, line) end
    n = n + 1
  end
  i = 0
  headers = {["Content-Type"] = "application/json", ["X-Auth-Token"] = os.getenv("ADMIN_TOKEN")}
end
function request()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", os.getenv("BENCH_PATH"), headers, bodies[i])
end
