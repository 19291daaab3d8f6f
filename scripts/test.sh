#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (apt peers, a venv
# with dockyard and the test tools) and runs the whole suite: ruff, mypy --strict, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
. .venv/bin/activate
ruff check src tests bench
mypy --strict src
pytest -q tests "$@"
