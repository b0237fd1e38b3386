#!/usr/bin/env bash
# Fault run (issue 20): SMTP down for OUTAGE_SECS (default 600) while MAILS bids (default 60) arrive, each
# owing a receipt mail; then the server is back. Prints mails queued, sent, received, duplicated, lost and
# how long after the server's return mail resumed. See crates/service/examples/smtp_outage.rs.
#   bench/smtp_outage.sh [OUTAGE_SECS] [MAILS]
# PROFILE=release (default: dev, the debug build) picks the build.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-dev}"
out=debug
[ "$profile" = release ] && out=release
cargo build -q --profile "$profile" -p service --bin sua --example smtp_outage
SUA_BIN="$PWD/target/$out/sua" "target/$out/examples/smtp_outage" "${1:-600}" "${2:-60}"
