#!/usr/bin/env bash
# Cross-compiles ferry-agent for every device target into dist/: static
# (CGO_ENABLED=0), stripped (-s -w), reproducible (-trimpath, date = commit
# time), with version, commit and date stamped in for `ferry-agent version`.
# Prints a table of sizes, writes dist/SHA256SUMS and dist/VERSION (read by
# ferry release --agents dist), and fails when any binary is over the 8 MiB
# budget.
#
#   scripts/build-agents.sh              # or: make agents
#   VERSION=1.2.0 scripts/build-agents.sh
#   TARGETS="linux/arm/7 linux/riscv64" scripts/build-agents.sh
#
# A target is GOOS/GOARCH[/variant]; the variant is GOARM for arm and GOMIPS
# for mips and mipsle.
set -euo pipefail
cd "$(dirname "$0")/.."

DIST=${DIST:-dist}
BUDGET=${BUDGET:-$((8 << 20))} # bytes, for every target's binary
TARGETS=${TARGETS:-"linux/arm/6 linux/arm/7 linux/arm64 linux/mipsle/softfloat linux/mips/softfloat linux/riscv64 linux/amd64"}
# nethttpomithttp2 leaves out net/http's HTTP/2 (about 390 KB on MIPS): an
# update is one or two requests for static files, where HTTP/1.1 costs no
# more bytes. e2e/qemu_test.go builds with the same tags.
TAGS=${TAGS:-nethttpomithttp2}
# No inlining outside the standard library (Ferry's own code, zstd, x/sys,
# edwards25519): about 200 KB less on MIPS (8,519,873 -> 8,323,265 bytes
# stripped at the streamed-manifest commit), where the agent is otherwise
# over the budget; the standard library (hashing, TLS, I/O) keeps its
# inlining. Measured cost: a zstd patch applies 0-20% slower on amd64
# (go test -bench BenchmarkApply ./internal/delta/, with and without these
# flags), far below what an update spends on its link. e2e/qemu_test.go
# builds with the same flags.
GCFLAGS=${GCFLAGS:-"-gcflags=all=-l -gcflags=std="}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo none)}
DATE=${DATE:-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)}

# name GOOS/GOARCH[/variant] -> the file name of that target's binary
name() {
	local os arch variant
	IFS=/ read -r os arch variant <<<"$1"
	case "$arch" in
	arm) echo "ferry-agent-$os-armv${variant:-7}" ;;
	mips | mipsle) echo "ferry-agent-$os-$arch$(case "${variant:-softfloat}" in softfloat) ;; *) echo "-$variant" ;; esac)" ;;
	*) echo "ferry-agent-$os-$arch" ;;
	esac
}

build() { # GOOS/GOARCH[/variant]
	local os arch variant out
	IFS=/ read -r os arch variant <<<"$1"
	out="$DIST/$(name "$1")"
	env CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" \
		GOARM="$(case "$arch" in arm) echo "${variant:-7}" ;; esac)" \
		GOMIPS="$(case "$arch" in mips | mipsle) echo "${variant:-softfloat}" ;; esac)" \
		go build -trimpath -tags "$TAGS" $GCFLAGS -o "$out" \
		-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE" \
		./cmd/ferry-agent
}

mkdir -p "$DIST"
rm -f "$DIST"/ferry-agent-* "$DIST/SHA256SUMS" "$DIST/VERSION"
echo "ferry-agent $VERSION (commit $COMMIT, built $DATE)"
printf '%-24s %-26s %10s %9s\n' target file bytes MiB
for t in $TARGETS; do
	build "$t"
	f="$DIST/$(name "$t")"
	size=$(wc -c <"$f")
	awk -v t="$t" -v f="$(name "$t")" -v s="$size" 'BEGIN { printf "%-24s %-26s %10d %9.2f\n", t, f, s, s / 1048576 }'
done

(cd "$DIST" && sha256sum ferry-agent-* >SHA256SUMS)
echo "$VERSION" >"$DIST/VERSION" # what the binaries print: ferry release --agents reads it (-trimpath drops -ldflags from build info)
echo "wrote $DIST/SHA256SUMS and $DIST/VERSION"

over=0
for t in $TARGETS; do
	f="$DIST/$(name "$t")"
	size=$(wc -c <"$f")
	if [ "$size" -gt "$BUDGET" ]; then
		echo "FAIL: $f is $size bytes, over the budget of $BUDGET bytes" >&2
		over=1
	fi
done
if [ "$over" = 1 ]; then
	echo "      see what it links: go list -deps ./cmd/ferry-agent; go version -m FILE; an unstripped build's go tool nm -size -sort size" >&2
	exit 1
fi
echo "ok: every binary is within the budget of $BUDGET bytes"
