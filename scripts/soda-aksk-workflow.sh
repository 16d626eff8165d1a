#!/usr/bin/env bash
# The SODA multicloud AK/SK workflow, as its documentation gives it, with
# only the host and port changed. Steps 1 and 2 (Keystone tokens) run now;
# steps 3 to 6 (the /v1/{project_id}/aksks API) follow with that API.
#
#   KEYSTONE_HOST=127.0.0.1:5000 OS_USERNAME=admin OS_PASSWORD=password \
#       scripts/soda-aksk-workflow.sh
set -euo pipefail

KEYSTONE_HOST=${KEYSTONE_HOST:-127.0.0.1:5000}
OS_USERNAME=${OS_USERNAME:-admin}
OS_PASSWORD=${OS_PASSWORD:-password}
OS_PROJECT_NAME=${OS_PROJECT_NAME:-admin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints a header's value from a saved `curl -i` response.
header() { grep -i "^$1:" "$2" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
# Prints a field of the JSON body of a saved `curl -i` response:
# json_field FILE key key ...
json_field() {
  local file=$1; shift
  sed '1,/^\r\{0,1\}$/d' "$file" | python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1:]:
    value = value[key]
print(value)' "$@"
}
status() { head -n 1 "$1" | cut -d' ' -f2; }

echo "== Step 1: unscoped token for $OS_USERNAME (password method)"
curl -s -i -X POST "http://$KEYSTONE_HOST/identity/v3/auth/tokens" \
  -H "Content-Type: application/json" \
  -d '{"auth": {"identity": {"methods": ["password"],"password": {"user": {"name": "'"$OS_USERNAME"'","domain": {"name": "Default"},"password": "'"$OS_PASSWORD"'"}}}}}' \
  > "$work/step1"
[ "$(status "$work/step1")" = 201 ] || { echo "step 1 failed:"; cat "$work/step1"; exit 1; }
UNSCOPED_TOKEN=$(header X-Subject-Token "$work/step1")
[ -n "$UNSCOPED_TOKEN" ] || { echo "step 1: no X-Subject-Token"; exit 1; }
echo "step 1 ok: unscoped token of ${#UNSCOPED_TOKEN} characters"

echo "== Step 2: project-scoped token (token method, project by name + domain id)"
curl -s -i -X POST "http://$KEYSTONE_HOST/identity/v3/auth/tokens" \
  -H "X-Auth-Token: $UNSCOPED_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"auth": {"identity": {"methods": ["token"],"token": {"id": "'"$UNSCOPED_TOKEN"'"}},"scope": {"project": {"name": "'"$OS_PROJECT_NAME"'","domain": {"id": "default"}}}}}' \
  > "$work/step2"
[ "$(status "$work/step2")" = 201 ] || { echo "step 2 failed:"; cat "$work/step2"; exit 1; }
SCOPED_TOKEN=$(header X-Subject-Token "$work/step2")
PROJECT_ID=$(json_field "$work/step2" token project id)
USER_ID=$(json_field "$work/step2" token user id)
[ -n "$SCOPED_TOKEN" ] && [ ${#PROJECT_ID} -eq 32 ] && [ ${#USER_ID} -eq 32 ] \
  || { echo "step 2: missing token, project id or user id"; exit 1; }
echo "step 2 ok: project_id=$PROJECT_ID user_id=$USER_ID"
