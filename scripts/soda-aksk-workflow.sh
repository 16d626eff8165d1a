#!/usr/bin/env bash
# The SODA multicloud AK/SK workflow, as its documentation gives it, with
# only the host and port changed: Keystone tokens (steps 1-2), then create,
# get, download and delete an AK/SK pair on the multicloud port (steps 3-6).
#
#   KEYSTONE_HOST=127.0.0.1:5000 MULTICLOUD_HOST=127.0.0.1:8089 \
#   OS_USERNAME=admin OS_PASSWORD=password scripts/soda-aksk-workflow.sh
#
# DOWNLOAD_DIR keeps the downloaded file (default: a temporary directory).
set -euo pipefail

KEYSTONE_HOST=${KEYSTONE_HOST:-127.0.0.1:5000}
MULTICLOUD_HOST=${MULTICLOUD_HOST:-127.0.0.1:8089}
OS_USERNAME=${OS_USERNAME:-admin}
OS_PASSWORD=${OS_PASSWORD:-password}
OS_PROJECT_NAME=${OS_PROJECT_NAME:-admin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DOWNLOAD_DIR=${DOWNLOAD_DIR:-$work}

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

echo "== Step 3: create an AK/SK for the user"
curl -s -i -X POST "http://$MULTICLOUD_HOST/v1/$PROJECT_ID/aksks" \
  -H "X-Auth-Token: $SCOPED_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"credential": {"project_id": "'"$PROJECT_ID"'", "user_id": "'"$USER_ID"'"}}' \
  > "$work/step3"
[ "$(status "$work/step3")" = 200 ] || { echo "step 3 failed:"; cat "$work/step3"; exit 1; }
ACCESS_KEY=$(json_field "$work/step3" access_key)
SECRET_KEY=$(json_field "$work/step3" secret_key)
# SODA's 16/32 characters, or a scannable secret key (credential.secret_prefix).
[ ${#ACCESS_KEY} -eq 16 ] && { [ ${#SECRET_KEY} -eq 32 ] || [[ $SECRET_KEY =~ ^irsk_[0-9A-Za-z]{38}$ ]]; } \
  || { echo "step 3: unexpected key shape"; exit 1; }
echo "step 3 ok: access_key=$ACCESS_KEY"

echo "== Step 4: get the AK/SK of the user"
curl -s -i --location --request GET "http://$MULTICLOUD_HOST/v1/$PROJECT_ID/aksks/$USER_ID" \
  --header "X-Auth-Token: $SCOPED_TOKEN" \
  --header "Content-Type: application/json" \
  --data-raw '' \
  > "$work/step4"
[ "$(status "$work/step4")" = 200 ] || { echo "step 4 failed:"; cat "$work/step4"; exit 1; }
grep -q "$ACCESS_KEY" "$work/step4" && grep -q "$SECRET_KEY" "$work/step4" \
  || { echo "step 4: the new pair is not listed"; exit 1; }
echo "step 4 ok"

echo "== Step 5: download the AK/SK of the user"
curl -s --location --request GET "http://$MULTICLOUD_HOST/v1/$PROJECT_ID/aksks/$USER_ID" \
  --header "X-Auth-Token: $SCOPED_TOKEN" \
  --header "Content-Type: application/json" \
  --data-raw '' \
  --output "$DOWNLOAD_DIR/aksk.json"
python3 - "$DOWNLOAD_DIR/aksk.json" "$ACCESS_KEY" "$SECRET_KEY" <<'PY' || { echo "step 5: the file does not hold the pair"; exit 1; }
import json, sys
pairs = json.load(open(sys.argv[1]))
assert any(p["type"] == "ec2" and p["blob"] == {"access_key": sys.argv[2], "secret_key": sys.argv[3]} for p in pairs)
PY
echo "step 5 ok: $DOWNLOAD_DIR/aksk.json"

echo "== Step 6: delete the AK/SKs of the user"
curl -s -i --location --request DELETE "http://$MULTICLOUD_HOST/v1/$PROJECT_ID/aksks/$USER_ID" \
  --header "X-Auth-Token: $SCOPED_TOKEN" \
  --header "Content-Type: application/json" \
  --data-raw '' \
  > "$work/step6"
[ "$(status "$work/step6")" = 200 ] || { echo "step 6 failed:"; cat "$work/step6"; exit 1; }
curl -s "http://$MULTICLOUD_HOST/v1/$PROJECT_ID/aksks/$USER_ID" -H "X-Auth-Token: $SCOPED_TOKEN" > "$work/after"
[ "$(cat "$work/after")" = "[]" ] || { echo "step 6: pairs remain: $(cat "$work/after")"; exit 1; }
echo "step 6 ok: no pairs left"
