-- POST a different body each request: the lines of BENCH_BODIES, split
-- between the threads, so no signed request is sent twice. Each request
-- is formatted once, in init, so that the load generator spends as
-- little of the shared cores per request as it does for get.lua.
--
-- A thread that has sent all of its bodies stops rather than start over:
-- replays answer a quick 401 that would inflate the rate. The rate is then
-- a lower bound (wrk divides by the whole run), and done() says so on
-- stderr; bench/run marks the line.
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
  -- What the connections still waiting for a request get after the stop:
  -- at most one each, and not a replay.
  idle = wrk.format("GET", "/v3")
  ran_out = false
  i = 0
end
function request()
  i = i + 1
  if i > #requests then
    if not ran_out then
      ran_out = true
      wrk.thread:stop()
    end
    return idle
  end
  return requests[i]
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("ran_out") then
      io.stderr:write("bench: a wrk thread ran out of bodies; the rate is a lower bound\n")
      return
    end
  end
end
