-- GET /v3/auth/tokens: the caller's token, and a subject token that rotates
-- through the lines of SUBJECT_TOKENS (as a service validates many users'
-- tokens), or the one SUBJECT_TOKEN when no file is given. Each request
-- is formatted once, in init, so that the load generator spends as little
-- of the shared cores per request as it does for get.lua.
function init(args)
  local tokens = {}
  local file = os.getenv("SUBJECT_TOKENS")
  if file and file ~= "" then
    for line in io.lines(file) do table.insert(tokens, line) end
  end
  if #tokens == 0 then tokens = {os.getenv("SUBJECT_TOKEN")} end
  requests = {}
  for _, token in ipairs(tokens) do
    local headers = {["X-Auth-Token"] = os.getenv("ADMIN_TOKEN"), ["X-Subject-Token"] = token}
    table.insert(requests, wrk.format("GET", "/v3/auth/tokens", headers))
  end
  i = math.random(#requests)
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
