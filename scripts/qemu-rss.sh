#!/usr/bin/env bash
# Peak RSS of `ferry-agent update` under qemu-user for each device target:
# a fresh install of one large file and of many small files, served by
# `ferry serve` on 127.0.0.1 (ferry runs natively; only the agent is
# emulated). Uses the binaries of `make agents` in dist/.
#
#   make agents && scripts/qemu-rss.sh
#   BIG_MB=16 SMALL_FILES=500 scripts/qemu-rss.sh     # a quick run
#
# Two numbers per run. "qemu RSS" is /usr/bin/time's %M of the qemu process:
# the guest's touched memory plus qemu's own (its translated-code cache,
# its heap). "amd64 native" and "amd64 under qemu-x86_64" show that overhead
# on one binary. "Go heap" is the guest's own view: the largest heap the
# runtime reports at a collection (GODEBUG=gctrace=1), without stacks and
# the runtime's other memory.
set -euo pipefail
cd "$(dirname "$0")/.."
BIG_MB=${BIG_MB:-64}
SMALL_FILES=${SMALL_FILES:-2000}
DIST=${DIST:-dist}
work=$(mktemp -d /tmp/ferry-qemu-rss-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
[ -x "$DIST/ferry-agent-linux-armv7" ] || { echo "run make agents first" >&2; exit 1; }
CGO_ENABLED=0 go build -o "$work/ferry" ./cmd/ferry

"$work/ferry" keygen --out "$work/keys" >/dev/null
mkdir -p "$work/origin" "$work/big" "$work/small"
port=$((20000 + RANDOM % 20000))
"$work/ferry" serve "$work/origin" --addr 127.0.0.1:$port 2>/dev/null &
head -c $((BIG_MB << 20)) /dev/urandom >"$work/big/blob.bin"
for i in $(seq "$SMALL_FILES"); do
	d="$work/small/d$((i % 50))"
	mkdir -p "$d"
	printf 'file %d %*s\n' "$i" $((i % 400)) x >"$d/f$i.txt"
done
for ch in big small; do
	"$work/ferry" release --from "$work/$ch" --version "$ch-1" --channel "$ch" \
		--keys "$work/keys" --origin "$work/origin" >/dev/null 2>&1
done

measure() { # label emulator(or "") binary channel -> one table row
	local dev
	dev=$(mktemp -d "$work/dev-XXXX")
	cat >"$dev/agent.toml" <<TOML
origin = "http://127.0.0.1:$port/"
channel = "$4"
target = "app"
state = "state"
root_keys = ["$work/keys/root.pub"]
TOML
	# shellcheck disable=SC2086 # $2 is empty for a native run
	GODEBUG=gctrace=1 /usr/bin/time -f "%M %e" -o "$dev/time" $2 "$3" update --config "$dev/agent.toml" >"$dev/out" 2>"$dev/err"
	read -r kb secs <"$dev/time"
	heap=$(grep -o '[0-9]*->[0-9]*->[0-9]* MB' "$dev/err" | tr -c '0-9\n' ' ' | awk '{ for (i = 1; i <= 3; i++) if ($i > m) m = $i } END { print m + 0 }')
	printf '| %-24s | %-16s | %8s MiB | %7s MiB | %6s s | %s\n' "$1" "$4" "$((kb / 1024))" "$heap" "$secs" "$(cat "$dev/out")"
}

echo "| target                   | release          | qemu RSS     | Go heap     | time     | agent says"
echo "|--------------------------|------------------|--------------|-------------|----------|-----------"
for ch in big small; do
	measure "amd64 native" "" "$DIST/ferry-agent-linux-amd64" $ch
	measure "amd64 under qemu-x86_64" qemu-x86_64-static "$DIST/ferry-agent-linux-amd64" $ch
	measure "arm (GOARM=7)" qemu-arm-static "$DIST/ferry-agent-linux-armv7" $ch
	measure "arm (GOARM=6)" qemu-arm-static "$DIST/ferry-agent-linux-armv6" $ch
	measure "arm64" qemu-aarch64-static "$DIST/ferry-agent-linux-arm64" $ch
	measure "mipsle (softfloat)" qemu-mipsel-static "$DIST/ferry-agent-linux-mipsle" $ch
	measure "mips (softfloat)" qemu-mips-static "$DIST/ferry-agent-linux-mips" $ch
	measure "riscv64" qemu-riscv64-static "$DIST/ferry-agent-linux-riscv64" $ch
done
