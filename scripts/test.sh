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
# Access control: the real clients that its tests drive with tokens over
# HTTPS (pip, npm, skopeo); each test skips, saying so, only when its
# client is absent.
command -v pip3 >/dev/null || missing+=(python3-pip)
command -v npm >/dev/null || missing+=(npm)
command -v skopeo >/dev/null || missing+=(skopeo)
# End of access control's packages.
if ((${#missing[@]})); then
	echo "test.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${missing[@]}" >/dev/null
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
