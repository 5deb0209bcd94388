#!/usr/bin/env bash
# scripts/test.sh runs gomirror's whole test suite on a fresh machine.
#
# It installs and starts what the tests need by itself: Debian's packages
# (listed below), Redis, and MinIO built with `go install` (cached under
# ~/.cache/gomirror-ci). Then it runs go vet, a short smoke run of the
# benchmark harness, and every test, including the end-to-end tests that
# drive the real clients: the go command, govulncheck, pip, npm, cargo,
# skopeo, podman and a headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the tests drive, from Debian's packages, installed in one go
# when missing:
# - git, nginx, wrk and redis-server for the module proxy, the benchmark
#   harness and the replica tests;
# - python3-venv, python3-pip and Debian's wheels for the PyPI mirror's pip
#   tests;
# - docker-registry (the real upstream registry), skopeo and podman (the
#   real clients) for the OCI mirror;
# - nodejs and npm for the npm mirror's real-client test;
# - maven (mvn, with Debian's /usr/share/maven-repo, the upstream of its
#   test), libmaven-dependency-plugin-java (for mvn dependency:resolve)
#   and junit4 (in that plugin's graph, not pulled in by its packages) for
#   the Maven mirror's real-client test;
# - chromium for the status page's browser test, and prometheus for
#   promtool, which checks and unit-tests the alert rules.
missing=()
command -v git >/dev/null || missing+=(git)
command -v nginx >/dev/null || missing+=(nginx)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || ! ls /usr/share/python-wheels/pip-*.whl >/dev/null 2>&1; then
	missing+=(python3-venv python3-pip python3-pip-whl python3-setuptools-whl)
fi
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v podman >/dev/null || missing+=(podman)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v pip3 >/dev/null || missing+=(python3-pip)
lean=() # installed without their recommendations, which they do not need here
command -v chromium >/dev/null || lean+=(chromium)
command -v promtool >/dev/null || lean+=(prometheus)
command -v mvn >/dev/null || lean+=(maven)
ls -d /usr/share/maven-repo/org/apache/maven/plugins/maven-dependency-plugin/3.* >/dev/null 2>&1 || lean+=(libmaven-dependency-plugin-java)
ls /usr/share/maven-repo/junit/junit/4.x/junit-4.x.jar >/dev/null 2>&1 || lean+=(junit4)
# The cargo mirror's real-client test packs the crates that Debian ships
# unpacked (quote, proc-macro2, unicode-ident) into its local registry; it
# runs rustup's cargo, as Debian's is too old for sparse registries.
ls -d /usr/share/cargo/registry/quote-* >/dev/null 2>&1 || lean+=(librust-quote-dev librust-proc-macro2-dev librust-unicode-ident-dev)
# Access control's tests drive pip, npm and skopeo with tokens over HTTPS:
# all three are in the lists above.
if ((${#missing[@]} + ${#lean[@]})); then
	echo "test.sh: installing ${missing[*]} ${lean[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	if ((${#missing[@]})); then
		apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	if ((${#lean[@]})); then
		apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
	fi
fi

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
