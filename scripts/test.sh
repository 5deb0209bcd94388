#!/usr/bin/env bash
# scripts/test.sh runs gomirror's whole test suite on a fresh machine.
#
# It installs and starts what the tests need by itself: git, nginx, wrk and
# redis-server from Debian's packages, and MinIO built with `go install`
# (cached under ~/.cache/gomirror-ci). Then it runs go vet, every test
# (including the end-to-end tests that drive the real go command), and a
# short smoke run of the benchmark harness.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v git >/dev/null || missing+=(git)
command -v nginx >/dev/null || missing+=(nginx)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
	echo "test.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- PyPI mirror (internal/pypi): the real pip, in a venv the tests make ---
# Debian's python3-venv and python3-pip (and the wheels ensurepip installs
# into a venv) for internal/pypi's pip end-to-end test.
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || ! ls /usr/share/python-wheels/pip-*.whl >/dev/null 2>&1; then
	echo "test.sh: installing python3-venv python3-pip for the PyPI mirror's pip tests" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq python3-venv python3-pip python3-pip-whl python3-setuptools-whl >/dev/null
fi
# --- end PyPI mirror ---
# --- OCI registry mirror (internal/oci) ---
# Debian's docker-registry is the real upstream registry of the end-to-end
# tests; skopeo and podman (which pulls as root) are the real clients.
oci_missing=()
command -v docker-registry >/dev/null || oci_missing+=(docker-registry)
command -v skopeo >/dev/null || oci_missing+=(skopeo)
command -v podman >/dev/null || oci_missing+=(podman)
if ((${#oci_missing[@]})); then
	echo "test.sh: installing ${oci_missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${oci_missing[@]}" >/dev/null
fi
# --- end of the OCI registry mirror block ---
# --- npm mirror: the real npm client (internal/npm's end-to-end test and the
# npm benchmark). Debian's nodejs package brings npm with it.
if ! command -v npm >/dev/null; then
	echo "test.sh: installing nodejs and npm" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq nodejs npm >/dev/null
fi
# --- end npm mirror
# --- station: status page browser test and monitoring rules -----------------
# The status page is checked in a headless Chromium (internal/status), and the
# alert rules with promtool from Debian's prometheus package (deploy/). Both
# tests fail in CI when these are missing.
station_missing=()
command -v chromium >/dev/null || station_missing+=(chromium)
command -v promtool >/dev/null || station_missing+=(prometheus)
if ((${#station_missing[@]})); then
	echo "test.sh: installing ${station_missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${station_missing[@]}" >/dev/null
fi
# --- end station --------------------------------------------------------------

# shellcheck source=../.ci/redis.sh
source .ci/redis.sh
# shellcheck source=../.ci/minio.sh
source .ci/minio.sh

echo "test.sh: go vet" >&2
go vet ./...

echo "test.sh: benchmark harness, smoke run (asserts no timings)" >&2
go run ./bench -smoke

echo "test.sh: go test" >&2
go test -count=1 -timeout 30m ./...
