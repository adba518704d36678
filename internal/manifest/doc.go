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
//	rollout-doc 1
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
// The "rollout-doc" line is optional (added after format 1 was first released, as
// the compatibility rules below allow): "rollout-doc 1" says that the
// channel's rollout document, rollouts/<channel>.note (a folder of its
// own: beside the pointer, a channel named "x.rollout" would collide),
// signed by the fleet service's rollout key, governs the stage of this release (see
// RolloutDoc). Agents that know the header take the document's percentage
// and honour its halt, and take nothing while the document is missing,
// expired or names another release; agents made before it ignore the
// header and use the pointer's rollout line, which `ferry rollout --stages`
// sets to the first stage.
//
// # Rollout document
//
// Written by the fleet service (`ferry fleet serve --origin`) on every
// rollout decision, signed by a key whose role in the signing-key list is
// rollout:<channel> and by no other key (such a key can sign nothing else):
//
//	ferry-rollout 1
//	channel stable
//	version 1.4.0
//	sequence 7
//	manifest <sha256-hex of the signed manifest note>
//	percent 10
//	halted 0
//	issued 2026-11-30T06:00:00Z
//	expires 2026-12-02T06:00:00Z
//	reason failure rate 9% reaches 5%
//
// The reason line is optional (the halt's reason, shown to people); the
// other lines are required. A document names the release it governs by its
// manifest SHA-256; a device uses it only for that release. It is re-signed
// on every decision and well before it expires (two days): a device that
// cannot get a fresh one takes nothing. A device keeps the newest document
// it verified and ignores one issued before it.
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
// Scanner reads a manifest's text line by line with the same checks (fuzzed
// against ParseManifest), holding one line and the paths that are prefixes
// of the last, so that a device never holds a release of many files; it
// refuses a line over 16 KiB (a file line is at most about 1,200 bytes).
package manifest
