-- GET /v3/auth/tokens: the caller's token, and a subject token that rotates
-- through the lines of SUBJECT_TOKENS (as a service validates many users'
-- tokens), or the one SUBJECT_TOKEN when no file is given.
function init(args)
  tokens = {}
  local file = os.getenv("SUBJECT_TOKENS")
  if file and file ~= "" then
    for line in io.lines(file) do table.insert(tokens, line) end
  end
  if #tokens == 0 then tokens = {os.getenv("SUBJECT_TOKEN")} end
  i = math.random(#tokens)
  headers = {["X-Auth-Token"] = os.getenv("ADMIN_TOKEN")}
end
function request()
  i = i + 1
  if i > #tokens then i = 1 end
  headers["X-Subject-Token"] = tokens[i]
  return wrk.format("GET", "/v3/auth/tokens", headers)
end
