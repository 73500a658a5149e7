#!/usr/bin/env bash
# The project's one test command. The README shows it and .ci/run calls it.
#
# - Runs every crate's suite with `cargo test --workspace`.
# - The storage, API and CLI suites also run on PostgreSQL when a server answers at
#   127.0.0.1:5432 (or at $PISHKHAN_TEST_POSTGRES_URL); each test makes its own database.
# - The browser tests drive Debian's headless Chromium; as root, missing packages are installed.
# - Interop tests run independent verifiers: Python's jwcrypto (installed from PyPI if missing)
#   for JWS, and a standard-library RFC 6962 script for Merkle proofs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromedriver >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if command -v chromedriver >/dev/null 2>&1; then
    export PISHKHAN_REQUIRE_BROWSER="${PISHKHAN_REQUIRE_BROWSER:-1}"
fi

# The JOSE interop test checks our receipts and signed messages with an independent Python
# library (jwcrypto, from PyPI); the Merkle proofs are checked by a standard-library script.
if ! python3 -c 'import jwcrypto' >/dev/null 2>&1; then
    echo "installing jwcrypto for the JOSE interop test"
    python3 -m pip install -q jwcrypto || python3 -m pip install -q --break-system-packages jwcrypto
fi

if [ -z "${PISHKHAN_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 \
    && pg_isready -h 127.0.0.1 -p 5432 -q; then
    export PISHKHAN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432"
fi
echo "PostgreSQL suite: ${PISHKHAN_TEST_POSTGRES_URL:-not configured (SQLite only)}"
if [ -n "${PISHKHAN_REQUIRE_BROWSER:-}" ]; then echo "browser suite: required"; else echo "browser suite: skipped (no chromedriver)"; fi

cargo test --workspace --locked "$@"
