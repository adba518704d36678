# Ferry's release builds. The tests are plain `go test ./...`; these targets
# are for the device binaries.
#
#   make agents      cross-compile ferry-agent for every device target into dist/
#                    (sizes table, dist/SHA256SUMS, fails over 8 MiB on arm)
#   make test-qemu   the agent's end-to-end test under qemu-user-static, and
#                    the check of what the agent links
#   make clean       remove dist/

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo none)
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)

.PHONY: agents test-qemu clean

agents:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' DATE='$(DATE)' scripts/build-agents.sh

test-qemu:
	go test -count=1 -run 'TestAgentUnderQEMU|TestAgentLinks' ./e2e

clean:
	rm -rf dist
