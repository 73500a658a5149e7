#!/usr/bin/env bash
# The JSON API against its own OpenAPI document: schemathesis (from PyPI) fuzzes
# /api/v1/openapi.json with every check on, once per role (citizen, operator, manager,
# regulator), on a fresh demo database on SQLite and then on PostgreSQL. Any failure (a 5xx, a
# response that breaks the schema, an undocumented status, a schema-valid request refused...)
# makes it exit non-zero, and it prints the command that replays the failing run.
#
#   bash scripts/contract.sh                  both stores (PostgreSQL if 127.0.0.1:5432 answers)
#   CONTRACT_STORES=sqlite bash scripts/contract.sh
#   CONTRACT_SEED=7 CONTRACT_EXAMPLES=50 CONTRACT_ROLES="manager" bash scripts/contract.sh
#
# Uses target/debug/pishkhan (built here if missing, or with CONTRACT_BUILD=1). The business
# rules no JSON Schema can express (a checksum, a date relative to today, a record that must
# exist) are allowed per operation in schemathesis.toml, each with its rule; every check stays
# on for everything else.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED="${CONTRACT_SEED:-20261207}"
EXAMPLES="${CONTRACT_EXAMPLES:-5}"
# Schemathesis's time budget for one role's run (it stops generating then and reports);
# a run still going 60 s after it is killed and fails.
RUN_BUDGET_S="${CONTRACT_RUN_BUDGET_S:-30}"
ROLES="${CONTRACT_ROLES:-citizen operator manager regulator}"
PG_URL="${CONTRACT_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$(realpath -m "$TARGET/debug/pishkhan")"
VENV="$(realpath -m "$TARGET/contract/venv")"
SCHEMATHESIS_VERSION=4.32.5
# Per-operation allowances for refusals no JSON Schema can express (each names its rule).
CONFIG="$(realpath schemathesis.toml)"

if [ ! -x "$BIN" ] || [ "${CONTRACT_BUILD:-0}" = 1 ]; then
    cargo build -p pishkhan --locked
fi
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pishkhan-contract.XXXXXX")"
SERVER_PID=""
PG_DB=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$PG_DB" ]; then psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Starts the demo (no traffic history) on $1 (extra global flags) and sets BASE.
start_demo() {
    local dir="$1"; shift
    mkdir -p "$dir"
    (cd "$dir" && PISHKHAN_LOG=warn NO_COLOR=1 exec "$BIN" --data-dir "$dir" "$@" \
        demo --history-days 0 --listen 127.0.0.1:0 >"$dir/server.out" 2>"$dir/server.err") &
    SERVER_PID=$!
    BASE=""
    for _ in $(seq 1 1200); do
        BASE="$(grep -o '^  API: *http://[0-9.:]*' "$dir/server.out" 2>/dev/null | grep -o 'http://.*' | head -1 || true)"
        [ -n "$BASE" ] && curl -fs "$BASE/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.25
    done
    echo "the demo did not start:"; cat "$dir/server.out" "$dir/server.err"; return 1
}

stop_demo() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

staff_token() {
    curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"demo1234\"}" | json_field token
}

# A citizen signs in with a one-time code, which the demo "texts" into notifications.log.
citizen_token() {
    local dir="$1" nc=0013542419 mobile=09121234567 code=""
    curl -fsS -o /dev/null -X POST "$BASE/api/v1/citizen/code" -H 'content-type: application/json' \
        -d "{\"national_code\":\"$nc\",\"mobile\":\"$mobile\"}"
    for _ in $(seq 1 40); do
        code="$(grep "$nc" "$dir/notifications.log" 2>/dev/null | tail -1 | grep -o 'code: [0-9]*' | grep -o '[0-9]*' || true)"
        [ -n "$code" ] && break
        sleep 0.25
    done
    curl -fsS -X POST "$BASE/api/v1/citizen/login" -H 'content-type: application/json' \
        -d "{\"national_code\":\"$nc\",\"mobile\":\"$mobile\",\"code\":\"$code\"}" | json_field token
}

FAILED=()
run_store() {
    local store="$1" dir="$WORK/$1"; shift
    start_demo "$dir" "$@"
    echo "== $store: demo at $BASE"
    # Every token first: the runs sign wrong passwords in, which slows down this address's
    # sign-ins, and a manager's or regulator's run may deactivate the staff of the runs before.
    declare -A tokens
    for role in $ROLES; do
        if [ "$role" = citizen ]; then tokens[$role]="$(citizen_token "$dir")"; else tokens[$role]="$(staff_token "$role")"; fi
    done
    for role in $ROLES; do
        echo "-- $store as $role (seed $SEED, at most $EXAMPLES examples per operation)"
        # Signing out and changing the password would end the run's own session. Run from the
        # scratch dir: schemathesis keeps its example database in the working directory, and a
        # fresh one makes a seed replay the same run. One worker: hypothesis's lambda
        # descriptions race across threads on Python 3.11 ("AST constructor recursion depth").
        if ! (cd "$dir" && timeout "$((RUN_BUDGET_S + 60))" "$VENV/bin/st" --config-file "$CONFIG" run "$BASE/api/v1/openapi.json" \
            --checks all --seed "$SEED" --max-examples "$EXAMPLES" --max-time "$RUN_BUDGET_S" --workers 1 \
            --phases examples,coverage,fuzzing --no-color --output-truncate true \
            --exclude-path /api/v1/auth/logout --exclude-path /api/v1/me/password \
            -H "Authorization: Bearer ${tokens[$role]}"); then
            FAILED+=("$store/$role")
        fi
    done
    stop_demo
}

case "${CONTRACT_STORES:-sqlite postgres}" in *sqlite*) run_store sqlite ;; esac
case "${CONTRACT_STORES:-sqlite postgres}" in *postgres*)
    if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
        PG_DB="pishkhan_contract_$$_$(date +%s)"
        psql -q "$PG_URL/postgres" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
        run_store postgres --database-url "$PG_URL/$PG_DB"
    else
        echo "== postgres: skipped, nothing answers at 127.0.0.1:5432"
    fi
    ;;
esac

if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "contract: FAILED for ${FAILED[*]}"
    echo "replay with: CONTRACT_SEED=$SEED CONTRACT_EXAMPLES=$EXAMPLES CONTRACT_RUN_BUDGET_S=$RUN_BUDGET_S CONTRACT_STORES=<store> CONTRACT_ROLES=<role> bash scripts/contract.sh"
    echo "(the seed fixes what is generated; the time budget bounds how much of it is sent)"
    echo "(each failure above also prints a curl command that reproduces it against a demo;"
    echo " its 'st replay' ids lived in this run's scratch dir and end with it)"
    exit 1
fi
echo "contract: the API keeps to its OpenAPI document for $ROLES on ${CONTRACT_STORES:-sqlite postgres} (seed $SEED)"
