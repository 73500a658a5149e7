#!/usr/bin/env bash
# Benchmark: demo nation first load and demo start-up on an existing database.
#
# Usage: scripts/bench-demo.sh [RUNS]   (release build; PostgreSQL too when it answers)
# Prints one line per measurement, in milliseconds. The baseline, measured in the same run, is
# a bare process start (`pishkhan --version`) and the generation of the nation without storage.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p pishkhan
bin="$target/release/pishkhan"
port=18931

ms() { date +%s%3N; }

wait_ready() {
    local deadline=$(( $(ms) + 30000 ))
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
        [ "$(ms)" -lt "$deadline" ] || { echo "server did not become ready" >&2; return 1; }
        sleep 0.01
    done
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
for i in $(seq 1 "$runs"); do
    t0=$(ms); "$bin" --version >/dev/null; t1=$(ms)
    echo "run $i baseline process start: $((t1 - t0)) ms"

    dir=$(mktemp -d)
    out=$("$bin" --data-dir "$dir" demo --load-only 2>/dev/null)
    echo "run $i sqlite first load (in-process figures): $(echo "$out" | grep -o 'in [0-9.]*s (generation [0-9.]*s)')"
    t0=$(ms)
    "$bin" --data-dir "$dir" demo --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    wait_ready; t1=$(ms)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "run $i sqlite demo start-up on existing database until /readyz: $((t1 - t0)) ms"
    rm -rf "$dir"

    if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
        db="pishkhan_bench_$$_$i"
        psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" >/dev/null
        url="postgres://postgres@127.0.0.1:5432/$db"
        out=$("$bin" --database-url "$url" demo --load-only 2>/dev/null)
        echo "run $i postgres first load (in-process figures): $(echo "$out" | grep -o 'in [0-9.]*s (generation [0-9.]*s)')"
        t0=$(ms)
        "$bin" --database-url "$url" demo --listen "127.0.0.1:$port" >/dev/null 2>&1 &
        pid=$!
        wait_ready; t1=$(ms)
        kill "$pid"; wait "$pid" 2>/dev/null || true
        echo "run $i postgres demo start-up on existing database until /readyz: $((t1 - t0)) ms"
        psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
    fi
done
