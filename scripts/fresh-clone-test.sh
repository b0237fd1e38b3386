#!/usr/bin/env bash
# Proves the repository stands alone: clones the committed HEAD into a temporary directory that has no
# sibling `shared/` (nor anything else), runs the README's test command there exactly as written (the
# second command of the README's first ```sh block: `scripts/test.sh`, which installs chromium and the
# browser test's npm packages, then runs `cargo test --workspace`), then
# `sua demo`, which must say its L.190 XML was validated against ANAC's XSD. Fails if any step fails.
#
#   scripts/fresh-clone-test.sh            # test command + demo
#   KEEP=1 scripts/fresh-clone-test.sh     # keep the clone (its path is printed)
#   SKIP_DEMO=1 scripts/fresh-clone-test.sh  # the test command only (what .ci/run does; the demo test in
#                                            # crates/service/tests/demo.rs runs the demo anyway)
#
# CARGO_TARGET_DIR, if set, is used for the clone's build (CI points it at its own target directory so
# that third-party crates are not compiled twice); otherwise the clone builds in its own `target/`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
if [[ -z "${KEEP:-}" ]]; then trap 'rm -rf "$work"' EXIT; fi
clone="$work/sua"
git clone -q "$repo" "$clone"
if [[ -e "$work/shared" ]]; then
  echo "fresh-clone-test: $work/shared exists; the clone must have no sibling shared/" >&2
  exit 1
fi
cd "$clone"
echo "fresh-clone-test: clone of $(git rev-parse --short HEAD) in $clone (no sibling shared/)"

# the README's first ```sh block holds two commands, each with a comment: run, then test
test_cmd=$(awk '/^```sh/ {inside = 1; next} /^```/ {if (inside) exit} inside' README.md | sed -n 2p |
  sed 's/[[:space:]]*#.*$//')
if [[ -z $test_cmd ]]; then
  echo "fresh-clone-test: no test command on the second line of README.md's first sh block" >&2
  exit 1
fi
echo "+ $test_cmd"
start=$(date +%s)
eval "$test_cmd"
echo "fresh-clone-test: test command passed in $(($(date +%s) - start)) s"

if [[ -n "${SKIP_DEMO:-}" ]]; then
  echo "fresh-clone-test: ok (demo skipped)"
  exit 0
fi
demo_out="$work/demo-out"
out=$(cargo run -q --bin sua -- demo --out "$demo_out" 2>&1) || {
  echo "$out" >&2
  echo "fresh-clone-test: sua demo failed" >&2
  exit 1
}
if ! grep -q "validated against ANAC's XSD" <<<"$out"; then
  echo "$out" >&2
  echo "fresh-clone-test: sua demo did not validate its XML against ANAC's XSD" >&2
  exit 1
fi
grep "validated against ANAC's XSD" <<<"$out"
echo "fresh-clone-test: ok"
