#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/ for FUZZ_SECONDS (default 60) seconds each, on the nightly toolchain,
# starting from the seed corpus in fuzz/corpus/<target>/ (read only: new inputs go to
# fuzz/target/fuzz-corpus/<target>/). Prints one line per target: runs, execs/s, corpus size, crashes.
# A crash leaves its input in fuzz/artifacts/<target>/ and makes the script exit 1.
#
#   scripts/fuzz.sh                  # every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz.sh evaluate money
#
# FUZZ_SANITIZER=address runs under AddressSanitizer (default: none; the code is safe Rust, and the panics
# and overflow checks of a debug-assertions build are what the targets look for; ASan halves the exec rate).
# FUZZ_WITHOUT_SERVICE=1 leaves out the `service` feature (a long instrumented build of the whole service):
# no json_bodies target, and money without the service's amount parsers.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
features=(--features service)
if [ -n "${FUZZ_WITHOUT_SERVICE:-}" ]; then
    features=()
fi
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if [ -n "${FUZZ_WITHOUT_SERVICE:-}" ]; then
    mapfile -t targets < <(printf '%s\n' "${targets[@]}" | grep -vx json_bodies)
fi

for t in "${targets[@]}"; do
    cargo +nightly fuzz build --sanitizer "$sanitizer" "${features[@]}" "$t"
done
status=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "target/fuzz-corpus/$t" "artifacts/$t"
    log="target/fuzz-$t.log"
    if cargo +nightly fuzz run --sanitizer "$sanitizer" "${features[@]}" "$t" "target/fuzz-corpus/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1; then
        crashes=0
    else
        crashes=$(find "artifacts/$t" -type f | wc -l)
        [ "$crashes" -gt 0 ] || crashes="?"
        status=1
        tail -n 30 "$log"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corpus=$(find "target/fuzz-corpus/$t" -type f | wc -l)
    summary+=("$(printf '%-12s %10s runs %8s execs/s %6s new inputs  crashes %s' "$t" "${runs:-?}" "${rate:-?}" "$corpus" "$crashes")")
done
printf '%s\n' "${summary[@]}"
exit "$status"
