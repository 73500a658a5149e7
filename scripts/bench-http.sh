#!/usr/bin/env bash
# Benchmark: bookings per second through the real HTTP API on loopback, driven by wrk.
#
# Usage: [RATE=half|N] [PIN=1] [BIN=path] scripts/bench-http.sh [SECONDS] [CONNECTIONS]
# Starts a release `pishkhan demo` on a fresh embedded database, collects bookable slots of
# 300 offices, and has wrk POST bookings (each by a different citizen, as the regulator, the
# national call centre) for SECONDS. The baseline in the same run is wrk on GET /healthz, the
# HTTP ceiling of this server on this machine. wrk runs on the same 2 cores as the server.
#
# RATE=N adds a third run at about N bookings/s (RATE=half: half the peak just measured), for
# latency at a known load: each connection waits a random time (exponential, mean
# CONNECTIONS/N s) between its requests (wrk's `delay()`), so the rate is a little below N
# when answers are slow (the achieved rate is printed). wrk measures from each request's send,
# not from its schedule, so a stall is counted once per connection rather than for every
# request it delayed: the tail printed is a lower bound.
# PIN=1 runs the server on CPU 0 and wrk on CPU 1 (taskset), so they do not preempt each other.
# Every run prints p50/p90/p99/p99.9/max; the paced run also prints the achieved rate.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-64}"
rate="${RATE:-}"
server_cpu=()
load_cpu=()
if [ "${PIN:-0}" = 1 ]; then
  server_cpu=(taskset -c 0)
  load_cpu=(taskset -c 1)
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
target="${CARGO_TARGET_DIR:-target}"
if [ -n "${BIN:-}" ]; then
  bin="$BIN" # a prebuilt binary, e.g. another checkout's, for a before/after comparison
else
  cargo build --release -q -p pishkhan
  bin="$target/release/pishkhan"
fi
port=18777
dir=$(mktemp -d)
"${server_cpu[@]}" "$bin" --data-dir "$dir" demo --listen "127.0.0.1:$port" >/dev/null 2>&1 &
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

# Percentiles for every run (wrk's latencies are in µs).
cat > "$dir/pct.lua" <<'LUA'
function done(summary, latency, requests)
  local function ms(us) return string.format("%.2f", us / 1000) end
  io.write(string.format("percentiles: p50 %s ms, p90 %s ms, p99 %s ms, p99.9 %s ms, max %s ms; %d requests in %.2f s = %.0f/s\n",
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency:percentile(99.9)), ms(latency.max), summary.requests,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
end
LUA

# book.lua: BASE (env) moves each run to citizens of its own; DELAY_MS (env) paces each
# connection.
cat > "$dir/book.lua" <<LUA
dofile("$dir/slots.lua")
dofile("$dir/pct.lua")
local base = tonumber(os.getenv("BASE") or "0")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
-- Exponential gaps (mean DELAY_MS): a fixed gap lets all connections fall into lockstep and
-- arrive as one burst per gap, which measures the burst rather than the rate.
if delay_ms > 0 then delay = function() return -math.log(1 - math.random()) * delay_ms end end
local n = 0
thread_id = 0 -- set per thread by setup(); must be global for thread:set
local id = 0
function setup(thread) thread:set("thread_id", id); id = id + 1 end
function init(args) math.randomseed(os.time() * 2 + thread_id) end
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
    slot[1], slot[2], national_code(300000000 + base + thread_id * 50000000 + n))
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

show="Requests/sec|Latency|requests in|Non-2xx|refused|percentiles"
if [ "${PIN:-0}" = 1 ]; then
  echo "machine: $(nproc) cores; wrk -t2 -c$conns -d${secs}s on loopback; server pinned to CPU 0, wrk to CPU 1"
else
  echo "machine: $(nproc) cores; wrk -t2 -c$conns -d${secs}s on loopback, same cores as the server"
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- baseline: GET /healthz"
"${load_cpu[@]}" wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/pct.lua" "http://127.0.0.1:$port/healthz" | grep -E "$show"
echo "--- POST /api/v1/bookings (201 booked or 409 slot_full both count as answered)"
peak=$("${load_cpu[@]}" wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/book.lua" "http://127.0.0.1:$port" | grep -E "$show" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}')
if [ -n "$rate" ]; then
  [ "$rate" = half ] && rate=$(awk -v p="$peak" 'BEGIN {printf "%d", p / 2}')
  delay_ms=$(awk -v c="$conns" -v r="$rate" 'BEGIN {printf "%d", c * 1000 / r}')
  echo "--- POST /api/v1/bookings paced at ~$rate/s ($conns connections, ${delay_ms} ms between a connection's requests)"
  BASE=20000000 DELAY_MS="$delay_ms" "${load_cpu[@]}" wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/book.lua" "http://127.0.0.1:$port" | grep -E "$show"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
