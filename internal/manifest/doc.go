// Package manifest defines Ferry's release manifest and channel pointer: the
// two small documents that a publisher signs and a device verifies before it
// trusts a single byte of a release.
//
// # Format
//
// Both documents are UTF-8 text, one record per line, so that they diff well
// (the agent fetches a manifest as a patch against the one it holds) and so
// that they fit the signed-note envelope of golang.org/x/mod/sumdb/note. A
// manifest looks like this:
//
//	ferry-manifest 1
//	channel stable
//	version 1.4.0
//	sequence 7
//	created 2026-11-25T12:00:00Z
//	expires 2027-11-25T12:00:00Z
//	files 2
//	f 0644 1234 5678 <sha256-hex> app/main.py
//	f 0755 99 80 <sha256-hex> bin/run.sh
//
// A file line is: mode (octal permission bits), size, compressed blob size,
// SHA-256 of the content, and the path, which runs to the end of the line.
// Files are sorted by path and paths are unique. A channel pointer names the
// release a channel currently offers and the SHA-256 of its manifest note:
//
//	ferry-channel 1
//	channel stable
//	version 1.4.0
//	sequence 7
//	manifest <sha256-hex of the signed manifest note>
//	manifest-size 4242
//	expires 2027-11-25T12:00:00Z
//	rollout 100
//	keys 7 <sha256-hex of keys/signing-keys-2.note>
//
// The "keys" line (optional, added within format 1) names the format-2
// signing-key list the pointer was signed under: its version and the
// SHA-256 of the signed list note as served. A device that holds exactly that
// list makes no request for the list; one that does not fetches it. Either
// way the list is verified against the root keys (expiry, version only up)
// before it verifies the pointer, and a pointer whose "keys" line names
// another list than the one that verified it is refused. Agents before the
// line ignore it (below) and fetch the list as before.
//
// A manifest may also carry agent binaries (since agent self-update), one
// header line per device target, before the files line:
//
//	agent-linux-armv7 1.3.0 7471266 3120044 <sha256-hex>
//
// The key is "agent-" and the target (GOOS-arch as scripts/build-agents.sh
// names its binaries); the value is the agent's version, size, compressed
// blob size and the SHA-256 of the binary, whose blob is stored like any
// file's. An agent binary is not a file of the release and is never
// installed into the target.
//
// # Compatibility
//
// The first line names the document and its major format version. A reader
// refuses a major version it does not know (ErrVersion). Within a major
// version, new header keys may be added: readers ignore header keys they do
// not know, so old agents keep working with newer publishers. Header keys and
// their meaning, the file-line layout and the path rules are never changed
// within a major version. The agent-* keys are such an addition: agents that
// predate them skip them (each target's key is unique), so a release that
// carries agent binaries installs the same files on every agent, and only
// agents that know the keys update themselves.
//
// # Untrusted input
//
// Parse functions are given bytes that have already passed signature
// verification, but they are still written for hostile input: counts are
// capped before anything is allocated (Limits), every path is validated with
// ValidPath, and any malformed line is an error naming its line number.
package manifest
