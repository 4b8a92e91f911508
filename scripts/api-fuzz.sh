#!/usr/bin/env bash
# A long property-test run of the HTTP API (the suite runs a short one): schemathesis against
# a real tally-server, from its OpenAPI document. Usage: scripts/api-fuzz.sh [examples] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TALLY_API_FUZZ_EXAMPLES="${1:-300}" TALLY_API_FUZZ_SEED="${2:-random}" \
  cargo nextest run -p tally-server --locked -E 'binary(api_fuzz)' --no-capture
