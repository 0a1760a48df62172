#!/usr/bin/env bash
# Schemathesis against the chat service's own OpenAPI document (/api/v1/openapi.json): a real
# `vouch demo` on free loopback ports, an admin token in the Authorization header, bounded
# examples per operation. Fails on any 5xx or any answer that does not match the document.
#
# The demo and schemathesis run inside a new network namespace that has only loopback when
# `unshare -n` works (root), so URLs the fuzzer makes up (admin key URLs are fetched on save)
# cannot reach any other address. Without it the two operations that fetch a URL are skipped.
#
# Usage: VOUCH_BIN=target/debug/vouch scripts/schemathesis.sh   (MAX_EXAMPLES=N, SEED=N to change)
set -euo pipefail

if [ "${VOUCH_IN_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n env VOUCH_IN_NETNS=1 bash "$0" "$@"
fi
exclude=()
if [ "${VOUCH_IN_NETNS:-}" = 1 ]; then
  ip link set lo up
else
  echo "schemathesis: no network namespace here; skipping the operations that fetch key URLs" >&2
  exclude=(--exclude-path-regex '^/api/v1/admin/auth-settings')
fi

bin=${VOUCH_BIN:?set VOUCH_BIN to the vouch binary}
examples=${MAX_EXAMPLES:-20}
work=$(mktemp -d)
demo_pid=
cleanup() {
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" demo --data-dir "$work/data" --portal-addr 127.0.0.1:0 --chat-addr 127.0.0.1:0 \
  >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
chat=
for _ in $(seq 1 300); do
  chat=$(sed -n 's/^chat: \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/demo.out" | head -1)
  [ -n "$chat" ] && grep -q '^vouch demo is running' "$work/demo.out" && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$chat" ] || { echo "vouch demo did not start" >&2; cat "$work/demo.err" >&2; exit 1; }

portal=$(sed -n 's/^portal: \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/demo.out" | head -1)

# Sign in as the demo admin, and give the path parameters real ids (the demo's widget and
# setting, a conversation and a contact of a verified session) so requests reach the handlers'
# logic instead of stopping at 404.
token=$(python3 - "$chat" "$portal" "$work/schemathesis.toml" <<'PY'
import http.cookiejar, json, sys, urllib.parse, urllib.request, re
chat, portal, config = sys.argv[1:4]
def call(method, url, body=None, headers=None, opener=urllib.request.urlopen):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
        headers={"Content-Type": "application/json", **(headers or {})})
    return json.load(opener(req, timeout=10))
token = call("POST", chat + "/api/v1/agent/login", {"email": "admin@example.com", "password": "admin"})["token"]
auth = {"Authorization": "Bearer " + token}
setting = call("GET", chat + "/api/v1/admin/auth-settings", headers=auth)["auth_settings"][0]["id"]
widget = call("GET", chat + "/api/v1/admin/widgets", headers=auth)["widgets"][0]["app_id"]
# A verified session: the demo customer signs in at the portal and gets a token there.
jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
page = jar.open(portal + "/login", timeout=10).read().decode()
csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
form = urllib.parse.urlencode({"email": "customer@example.com", "password": "customer", "csrf_token": csrf}).encode()
jar.open(urllib.request.Request(portal + "/login", data=form, headers={"Origin": portal}), timeout=10)
jwt = jar.open(portal + "/token", timeout=10).read().decode()
s = call("POST", f"{chat}/api/v1/widgets/{widget}/sessions", {},
         {"Origin": portal, "AuthenticatedUserToken": jwt})
with open(config, "w") as f:
    f.write(f"""
[parameters]
"path.app_id" = "{widget}"

[[operations]]
include-path-regex = "^/api/v1/agent/conversations/"
parameters = {{ "path.id" = "{s['conversation_id']}" }}

[[operations]]
include-path-regex = "^/api/v1/contacts/"
parameters = {{ "path.id" = "{s['contact']['id']}" }}

[[operations]]
include-path-regex = "^/api/v1/admin/auth-settings/"
parameters = {{ "path.id" = "{setting}" }}
""")
print(token)
PY
)

# Logout would revoke the token every other request uses: it is covered by the Rust tests.
cd "$work"  # schemathesis keeps its cache in the working directory
schemathesis --config-file "$work/schemathesis.toml" run "$chat/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-path /api/v1/agent/logout \
  "${exclude[@]}" \
  --max-examples "$examples" \
  --seed "${SEED:-20240501}" \
  --workers 2 \
  --request-timeout 10 \
  --suppress-health-check all
