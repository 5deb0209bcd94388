# shellcheck shell=bash
#
# Starts a throwaway MinIO server for the S3 store tests. Source it:
#
#	source .ci/minio.sh
#
# It installs MinIO into $GOMIRROR_CI_CACHE/bin (default
# ~/.cache/gomirror-ci/bin) unless the same version is already there,
# starts it on a free 127.0.0.1 port with an empty data directory and
# generated root credentials, waits until it is live, and exports
#
#	GOMIRROR_TEST_S3_ENDPOINT  http://127.0.0.1:PORT
#	AWS_ACCESS_KEY_ID          the generated root user
#	AWS_SECRET_ACCESS_KEY      the generated root password
#	GOMIRROR_MINIO_PID         the server's process id
#
# The server and its data are removed when the sourcing shell exits; call
# gomirror_minio_stop to remove them sooner. On failure it prints MinIO's
# log and returns non-zero.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	echo "usage: source ${0} (it exports variables into the calling shell)" >&2
	exit 2
fi

GOMIRROR_MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

# gomirror_minio_install makes sure $1/bin/minio is GOMIRROR_MINIO_VERSION.
gomirror_minio_install() {
	local cache=$1
	local bin=$cache/bin/minio stamp=$cache/bin/minio.version
	if [[ -x $bin && -f $stamp && $(<"$stamp") == "$GOMIRROR_MINIO_VERSION" ]]; then
		return 0
	fi
	echo "minio.sh: installing MinIO $GOMIRROR_MINIO_VERSION into $cache/bin (takes a few minutes once)" >&2
	mkdir -p "$cache/bin" || return 1
	if ! GOBIN=$cache/bin GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$GOMIRROR_MINIO_VERSION"; then
		echo "minio.sh: go install of MinIO failed" >&2
		return 1
	fi
	echo "$GOMIRROR_MINIO_VERSION" >"$stamp"
}

# gomirror_minio_port_free reports whether nothing listens on 127.0.0.1:$1.
gomirror_minio_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# gomirror_minio_random_hex prints $1 random bytes in hex.
gomirror_minio_random_hex() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# gomirror_minio_stop stops the server and removes its data.
gomirror_minio_stop() {
	if [[ -n ${GOMIRROR_MINIO_PID:-} ]]; then
		kill "$GOMIRROR_MINIO_PID" 2>/dev/null && wait "$GOMIRROR_MINIO_PID" 2>/dev/null
		GOMIRROR_MINIO_PID=
	fi
	if [[ -n ${GOMIRROR_MINIO_DIR:-} ]]; then
		rm -rf "$GOMIRROR_MINIO_DIR"
		GOMIRROR_MINIO_DIR=
	fi
}

# gomirror_minio_on_exit runs gomirror_minio_stop when the shell exits,
# after whatever EXIT trap was there before.
gomirror_minio_on_exit() {
	local prev
	eval "set -- $(trap -p EXIT)"
	prev=${3:-}
	if [[ $prev == *gomirror_minio_stop* ]]; then
		return 0
	fi
	# shellcheck disable=SC2064 # Expand prev now.
	trap "${prev:+$prev;} gomirror_minio_stop" EXIT
}

gomirror_minio_start() {
	local cache=${GOMIRROR_CI_CACHE:-$HOME/.cache/gomirror-ci}
	gomirror_minio_install "$cache" || return 1

	GOMIRROR_MINIO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gomirror-minio.XXXXXX") || return 1
	gomirror_minio_on_exit
	local user password port attempt i log=$GOMIRROR_MINIO_DIR/minio.log
	user=gomirror-$(gomirror_minio_random_hex 6)
	password=$(gomirror_minio_random_hex 24)

	for attempt in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		gomirror_minio_port_free "$port" || continue
		MINIO_ROOT_USER=$user MINIO_ROOT_PASSWORD=$password MINIO_BROWSER=off \
			MINIO_UPDATE=off MINIO_CI_CD=1 \
			"$cache/bin/minio" server --quiet --address "127.0.0.1:$port" \
			"$GOMIRROR_MINIO_DIR/data" >"$log" 2>&1 </dev/null &
		GOMIRROR_MINIO_PID=$!
		for ((i = 0; i < 600; i++)); do
			if ! kill -0 "$GOMIRROR_MINIO_PID" 2>/dev/null; then
				break # It died, probably because the port was taken after all.
			fi
			if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/minio/health/live" 2>/dev/null; then
				export GOMIRROR_TEST_S3_ENDPOINT=http://127.0.0.1:$port
				export AWS_ACCESS_KEY_ID=$user
				export AWS_SECRET_ACCESS_KEY=$password
				export GOMIRROR_MINIO_PID
				echo "minio.sh: MinIO is live at $GOMIRROR_TEST_S3_ENDPOINT (pid $GOMIRROR_MINIO_PID)" >&2
				return 0
			fi
			sleep 0.1
		done
		echo "minio.sh: MinIO did not become live on port $port (attempt $attempt); its log:" >&2
		cat "$log" >&2
		kill "$GOMIRROR_MINIO_PID" 2>/dev/null && wait "$GOMIRROR_MINIO_PID" 2>/dev/null
		GOMIRROR_MINIO_PID=
	done
	echo "minio.sh: could not start MinIO" >&2
	gomirror_minio_stop
	return 1
}

gomirror_minio_start
