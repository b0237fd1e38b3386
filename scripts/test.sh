#!/usr/bin/env bash
# Every test of the repository, on a fresh Debian machine with the Rust toolchain, Python 3 and node/npm:
# installs what the console's browser test needs (Debian's chromium; playwright-core and axe-core from
# npm, tests/browser/package-lock.json) and xmllint for the eForms XSD checks (Debian's libxml2-utils),
# schemathesis 4 from PyPI into a venv (pip) for the OpenAPI conformance test, then runs
# `cargo test --workspace` with the arguments given.
#
#   scripts/test.sh                 # everything (PostgreSQL variants when SUA_TEST_DATABASE_URL is set)
#   scripts/test.sh -p service      # arguments go to cargo test
#
# chromium comes from apt-get: as root, or through sudo without a password; otherwise it stops and says
# how to install it. Playwright never downloads a browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1): the test
# drives /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM=${SUA_CHROMIUM:-/usr/bin/chromium}
# Debian packages the tests drive: chromium (the console's browser test) and libxml2-utils (xmllint, which
# validates the eForms notices against the eForms XSDs: the pure-Rust validator cannot compile UBL)
missing=()
[[ -x $CHROMIUM ]] || missing+=(chromium)
command -v xmllint >/dev/null || missing+=(libxml2-utils)
if ((${#missing[@]})); then
  echo "test.sh: installing Debian's ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "test.sh: cannot install ${missing[*]} (not root, no password-less sudo): run 'apt-get install -y ${missing[*]}' as root" >&2
    exit 1
  fi
fi
export SUA_XMLLINT=${SUA_XMLLINT:-xmllint}
command -v npm >/dev/null || { echo "test.sh: npm not found: apt-get install -y nodejs npm" >&2; exit 1; }
# schemathesis 4 (PyPI), for the OpenAPI conformance test (crates/service/tests/schemathesis.rs), in a venv
# beside the build (kept between runs)
ST_VENV="${CARGO_TARGET_DIR:-$PWD/target}/schemathesis-venv"
if [[ ! -x $ST_VENV/bin/schemathesis ]]; then
  echo "test.sh: installing schemathesis 4.32.5 (pip) into $ST_VENV"
  python3 -m venv "$ST_VENV" || { echo "test.sh: cannot create a Python venv: apt-get install -y python3-venv" >&2; exit 1; }
  "$ST_VENV/bin/pip" install -q 'schemathesis==4.32.5' || { echo "test.sh: cannot install schemathesis from PyPI (network?)" >&2; exit 1; }
fi
export SUA_SCHEMATHESIS="$ST_VENV/bin/schemathesis"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
exec cargo test --workspace "$@"
