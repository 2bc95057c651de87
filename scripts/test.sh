#!/usr/bin/env bash
# Installs what is missing, builds everything (both apps), checks the layers (lint) and runs every test: unit,
# integration, end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_TEST_PACKAGES=1 bash scripts/setup.sh
npm run build
npm run lint
npm run build:electron
mkdir -p test-results
npm run test:unit
npm run test:e2e
