#!/usr/bin/env bash
# Peak RSS of `ferry-agent update` (fresh install, then a one-file change) for
# a release of one large file and for a release of many small files, served
# by `ferry serve` on 127.0.0.1. Prints a table. The budget (DESIGN.md) is
# 32 MiB for a 1 GiB file and for 50,000 files; issue #15's goal is 12 MiB.
#
#   bash bench/rss.sh                   # 1 GiB file, 50,000 files
#   BIG_MB=64 SMALL_FILES=2000 bash bench/rss.sh   # a quick run
#   AGENT_FLAGS= bash bench/rss.sh      # the agent as a plain `go build` makes it
#
# The agent is built as devices get it (scripts/build-agents.sh: HTTP/1.1
# only, no inlining outside the standard library, stripped): its own pages
# are most of its RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIG_MB=${BIG_MB:-1024}
SMALL_FILES=${SMALL_FILES:-50000}
work=$(mktemp -d /tmp/ferry-rss-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/ferry" ./cmd/ferry
AGENT_FLAGS=${AGENT_FLAGS-"-trimpath -tags nethttpomithttp2 -gcflags=all=-l -gcflags=std= -ldflags=-s"}
# shellcheck disable=SC2086 # AGENT_FLAGS is a list of flags
CGO_ENABLED=0 go build $AGENT_FLAGS -o "$work/ferry-agent" ./cmd/ferry-agent
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }

"$work/ferry" keygen --out "$work/keys" >/dev/null
port=$((20000 + RANDOM % 20000))
"$work/ferry" serve "$work/origin" --addr 127.0.0.1:$port 2>/dev/null &
mkdir -p "$work/origin"

measure() { # name -> prints peak RSS in KiB of one update, and the agent's line
  local name=$1 dev="$work/dev-$1"
  mkdir -p "$dev"
  cat >"$dev/agent.toml" <<TOML
origin = "http://127.0.0.1:$port/"
channel = "$name"
target = "app"
state = "state"
root_keys = ["$work/keys/root.pub"]
TOML
  /usr/bin/time -f "%M" -o "$dev/rss" "$work/ferry-agent" update --config "$dev/agent.toml" >"$dev/out"
  echo "$(cat "$dev/rss") $(cat "$dev/out")"
}

row() { printf '| %-34s | %9s | %s\n' "$1" "$2" "$3"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; } # KiB, one decimal

mkdir -p "$work/big"
head -c $((BIG_MB << 20)) /dev/urandom >"$work/big/blob.bin"
"$work/ferry" release --from "$work/big" --version big-1 --channel big --keys "$work/keys" --origin "$work/origin" 2>/dev/null >/dev/null

mkdir -p "$work/small"
python3 - "$work/small" "$SMALL_FILES" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 500))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write("file %d %s\n" % (i, "x" * random.randint(10, 400)))
PY
"$work/ferry" release --from "$work/small" --version small-1 --channel small --keys "$work/keys" --origin "$work/origin" 2>/dev/null >/dev/null

echo "| release                            | peak RSS  | agent says"
echo "|------------------------------------|-----------|-----------"
read -r kb line < <(measure big); row "1 file of $BIG_MB MiB, fresh install" "$(mib "$kb")" "$line"
read -r kb line < <(measure small); row "$SMALL_FILES files, fresh install" "$(mib "$kb")" "$line"
echo changed >"$work/small/d000/f00000.txt"
"$work/ferry" release --from "$work/small" --version small-2 --channel small --keys "$work/keys" --origin "$work/origin" 2>/dev/null >/dev/null
read -r kb line < <(measure small); row "$SMALL_FILES files, one file changed" "$(mib "$kb")" "$line"
