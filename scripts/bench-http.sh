#!/usr/bin/env bash
# Benchmark: bookings per second through the real HTTP API on loopback, driven by wrk.
#
# Usage: scripts/bench-http.sh [SECONDS] [CONNECTIONS]
# Starts a release `pishkhan demo` on a fresh embedded database, collects bookable slots of
# 300 offices, and has wrk POST bookings (each by a different citizen, as the regulator, the
# national call centre) for SECONDS. The baseline in the same run is wrk on GET /healthz, the
# HTTP ceiling of this server on this machine. wrk runs on the same 2 cores as the server.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-64}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p pishkhan
bin="$target/release/pishkhan"
port=18777
dir=$(mktemp -d)
"$bin" --data-dir "$dir" demo --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

python3 - "$port" "$dir/slots.lua" <<'PY'
import json, sys, urllib.request
port, out = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return json.load(r)
req = urllib.request.Request(base + "/api/v1/auth/login", data=json.dumps({"username": "regulator", "password": "demo1234"}).encode(), headers={"content-type": "application/json"})
token = json.load(urllib.request.urlopen(req))["token"]
slots = []
for page in range(1, 4):
    for o in get(f"/api/v1/offices?status=active&per_page=100&page={page}")["items"]:
        days = get(f"/api/v1/offices/{o['code']}/availability?service=PSP-001&days=15")["days"]
        for d in days:
            if d["bookable"]:
                for s in d["slots"]:
                    slots.append((o["code"], s["start"]))
with open(out, "w") as f:
    f.write(f'token = "{token}"\nslots = {{\n')
    for code, start in slots:
        f.write(f'  {{"{code}", "{start}"}},\n')
    f.write("}\n")
print(f"{len(slots)} bookable slots in 300 offices", file=sys.stderr)
PY

cat > "$dir/book.lua" <<LUA
dofile("$dir/slots.lua")
local n = 0
thread_id = 0 -- set per thread by setup(); must be global for thread:set
local id = 0
function setup(thread) thread:set("thread_id", id); id = id + 1 end
-- A valid national code for body b (9 digits): the Iranian check digit.
local function national_code(b)
  local s = string.format("%09d", b)
  local sum = 0
  for i = 1, 9 do sum = sum + tonumber(s:sub(i, i)) * (11 - i) end
  local r = sum % 11
  local c = r < 2 and r or 11 - r
  return s .. tostring(c)
end
request = function()
  n = n + 1
  local slot = slots[(n * 7919 + thread_id) % #slots + 1]
  local body = string.format('{"office":"%s","service":"PSP-001","start":"%s","national_code":"%s","mobile":"09121234567"}',
    slot[1], slot[2], national_code(300000000 + thread_id * 50000000 + n))
  return wrk.format("POST", "/api/v1/bookings", {["content-type"] = "application/json", ["authorization"] = "Bearer " .. token}, body)
end
-- Show the first few refusals of each thread, to tell "slot full" from anything unexpected.
local shown = 0
response = function(status, headers, body)
  if status ~= 201 and shown < 3 then
    shown = shown + 1
    io.write("refused: ", status, " ", body:match('"code":"([%w_]+)"') or "", "\n")
  end
end
LUA

echo "machine: $(nproc) cores; wrk -t2 -c$conns -d${secs}s on loopback, same cores as the server"
echo "--- baseline: GET /healthz"
wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|Latency|requests in|Non-2xx|refused"
echo "--- POST /api/v1/bookings (201 booked or 409 slot_full both count as answered)"
wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/book.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|requests in|Non-2xx|refused"
