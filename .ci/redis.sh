# shellcheck shell=bash
# .ci/redis.sh starts a private redis-server for gomirror's coordination
# tests. Source it (from .ci/run or by hand):
#
#	source .ci/redis.sh
#
# It installs Debian's redis-server when none is on PATH, starts one bound to
# 127.0.0.1 on a free port with a throwaway directory and no persistence,
# waits until it answers PING, and exports
# GOMIRROR_TEST_REDIS=redis://127.0.0.1:PORT/0. The server is stopped and its
# directory removed when the sourcing shell exits.
#
# Cleanup is shared with other sourced CI helpers: append a command to the
# ci_cleanup array and call ci_cleanup_on_exit, which chains onto any EXIT
# trap already set instead of replacing it. Works under set -euo pipefail.

# ci_cleanup holds commands run, last added first, when the shell exits.
if ! declare -p ci_cleanup >/dev/null 2>&1; then
	ci_cleanup=()
fi

# ci_cleanup_run runs the ci_cleanup commands in reverse order, ignoring
# their failures, and keeps the exit status the shell was leaving with.
if ! declare -F ci_cleanup_run >/dev/null; then
	ci_cleanup_run() {
		local rc=$? i
		# This runs at exit: a failing cleanup must not stop the others
		# nor an EXIT trap chained after this one.
		set +e
		for ((i = ${#ci_cleanup[@]} - 1; i >= 0; i--)); do
			eval "${ci_cleanup[i]}"
		done
		ci_cleanup=()
		return "$rc"
	}
fi

# ci_cleanup_on_exit makes sure ci_cleanup_run runs on EXIT, before any EXIT
# trap that was set earlier.
if ! declare -F ci_cleanup_on_exit >/dev/null; then
	ci_cleanup_on_exit() {
		local current
		current=$(trap -p EXIT)
		case "$current" in
		*ci_cleanup_run*) return 0 ;;
		esac
		if [[ -z "$current" ]]; then
			trap 'ci_cleanup_run' EXIT
			return 0
		fi
		# trap -p prints: trap -- 'COMMAND' EXIT
		eval "set -- $current"
		trap "ci_cleanup_run; $3" EXIT
	}
fi

gomirror_redis_start() {
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "redis.sh: installing redis-server" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq redis-server >/dev/null
	fi

	local dir port pid try
	dir=$(mktemp -d "${TMPDIR:-/tmp}/gomirror-redis.XXXXXX")
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		# Something already answers there: pick another port.
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
			--save '' --appendonly no --daemonize no \
			--logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
		pid=$!
		local i
		for ((i = 0; i < 100; i++)); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break # exited, most likely because the port was taken
			fi
			if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" == PONG ]]; then
				ci_cleanup+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$dir'")
				ci_cleanup_on_exit
				export GOMIRROR_TEST_REDIS="redis://127.0.0.1:$port/0"
				echo "redis.sh: redis-server (pid $pid) at $GOMIRROR_TEST_REDIS" >&2
				return 0
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "redis.sh: could not start redis-server; its log:" >&2
	cat "$dir/redis.log" >&2 2>/dev/null || true
	rm -rf "$dir"
	return 1
}

gomirror_redis_start
