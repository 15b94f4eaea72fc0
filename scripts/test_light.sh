#!/usr/bin/env bash
# The light test tier on one Python version: scripts/test_light.sh 3.12
#
# Builds .venv-<version> from requirements-light.txt (again only when that file changed), then runs the light tests
# (tests/light_tier.py: no torch, no LLaMA-Factory) with CLUENER_LIGHT_TIER=1. The interpreter: python<version> on
# PATH when it runs (a pyenv shim without that version set does not), else the newest
# ${PYENV_ROOT:-~/.pyenv}/versions/<version>.*/bin/python<version>. When there is none, one line: "skipped" (exit 0),
# or an error (exit 1) with REQUIRE_PYTHONS=1, which CI sets (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: scripts/test_light.sh <python version, e.g. 3.12>}
venv=.venv-$version
requirements=requirements-light.txt

works() {  # the interpreter runs and is the asked version
    [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$version" ]
}

find_python() {
    local candidate
    candidate=$(command -v "python$version" 2>/dev/null || true)
    if [ -n "$candidate" ] && works "$candidate"; then
        echo "$candidate"
        return
    fi
    while IFS= read -r candidate; do
        if works "$candidate/bin/python$version"; then
            echo "$candidate/bin/python$version"
            return
        fi
    done < <(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".* | sort -rV)
}

python=$(find_python)
if [ -z "$python" ]; then
    where="no python$version on PATH or in ${PYENV_ROOT:-$HOME/.pyenv}/versions/$version.*"
    if [ "${REQUIRE_PYTHONS:-}" = 1 ]; then
        echo "error: light tier $version: $where (REQUIRE_PYTHONS=1: CI tests every supported Python)" >&2
        exit 1
    fi
    echo "skipped: light tier $version: $where"
    exit 0
fi

stamp=$venv/.installed
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> light tier $version: $venv from $requirements ($python)"
    rm -rf "$venv"
    "$python" -m venv "$venv" || { echo "error: $python -m venv $venv failed (install that Python's venv module)" >&2; exit 1; }
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$stamp"
fi

echo "==> light tier $version: $("$venv/bin/python" --version) (tests/light_tier.py: no torch)"
CLUENER_LIGHT_TIER=1 "$venv/bin/python" -m pytest -q -m "light and not full" tests cluener dataprep provenance infer eval
