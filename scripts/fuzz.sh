#!/usr/bin/env bash
# Fuzzes the parsers (issue 15): builds every cargo fuzz target in fuzz/ in one build, runs
# each for a bounded time from its seed corpus, and fails if any target crashes or breaks a
# property it asserts. docs/fuzzing.md lists the targets and how to run long campaigns.
#
#   bash scripts/fuzz.sh                       # CI: every target, FUZZ_SECONDS (20) each
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh jws  # a longer run of chosen targets
#
# Environment:
#   FUZZ_SECONDS    time per target in seconds (libFuzzer's -max_total_time); default 20
#   FUZZ_RSS_MB     memory limit of one fuzzing process (-rss_limit_mb); default 2048
#   FUZZ_SANITIZER  address (default) or none; see docs/fuzzing.md
#
# cargo fuzz needs nightly-only rustc flags (-Z sanitizer, -C passes=sancov-module). Only the
# stable toolchain is installed here, and RUSTC_BOOTSTRAP=1 lets it accept them. It is set for
# this script's builds only; the main workspace never sees it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
FUZZ_RSS_MB="${FUZZ_RSS_MB:-2048}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
# Its own target dir: the fuzz build's instrumented flags would otherwise invalidate a normal
# build's artefacts in a shared one (and the reverse).
export CARGO_TARGET_DIR="$PWD/fuzz/target"

if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

# -O: optimised, as fuzzing needs; -a: debug assertions and overflow checks stay on, so an
# arithmetic overflow is a crash, not a silent wrap.
flags=(--fuzz-dir fuzz --sanitizer "$FUZZ_SANITIZER" -O -a)

start=$(date +%s)
echo "fuzz: building every target (sanitizer $FUZZ_SANITIZER)"
cargo fuzz build "${flags[@]}"
echo "fuzz: built in $(($(date +%s) - start)) s"

# New inputs the fuzzer finds go to a scratch corpus (first directory); the committed seeds
# (second directory) are only read, so a run never dirties the work tree.
scratch="$CARGO_TARGET_DIR/corpus"
logs="$CARGO_TARGET_DIR/logs"
mkdir -p "$scratch" "$logs"
passed=0
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t" "fuzz/corpus/$t"
    log="$logs/$t.log"
    t0=$(date +%s)
    if cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1; then
        passed=$((passed + 1))
        runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
        cov=$(grep -oE '#[0-9]+[[:space:]]+DONE[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 \
            | grep -oE 'cov: [0-9]+ ft: [0-9]+' || echo "cov: ?")
        echo "fuzz: $t ok: $runs runs in $(($(date +%s) - t0)) s, $cov"
    else
        failed+=("$t")
        echo "fuzz: $t FAILED; the end of its log ($log):"
        tail -n 40 "$log"
        artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //')
        if [ -n "$artifact" ]; then
            echo "fuzz: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -O -a $t $artifact"
        fi
    fi
done

echo "fuzz: stage took $(($(date +%s) - start)) s"
echo "fuzz: ${passed} passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}"
    exit 1
fi
