// Package keys manages the publisher's key folder: the offline root keys, the
// online signing keys, the refresh keys and the root-signed lists that name
// them.
//
// # The folder
//
// `ferry keygen --out KEYS` creates:
//
//	KEYS/root-1.key … root-N.key   root signer keys (secret, mode 0600)
//	KEYS/root.pub                  root verifier keys, one a line: the one file a device pins
//	KEYS/signing-1.key             a signing signer key, role release (secret, mode 0600)
//	KEYS/signing-keys-2.note       the signing-key list, format 2 (trust.MarshalKeyList):
//	                               version, expiry, every key with its roles,
//	                               signed by every root key in the folder
//	KEYS/signing-keys.note         the same list in format 1 (trust.MarshalBundle),
//	                               release keys only, for agents made before format 2
//
// `ferry keys add-refresh` adds KEYS/refresh-N.key (role refresh: it signs
// channel pointers only, for `ferry refresh`). `ferry keys add-rollout
// --channel C` adds KEYS/rollout-C-N.key (role rollout:C, named
// ferry-rollout-C-N: it signs channel C's rollout documents only, for the
// fleet service; LoadRollout reads it).
//
// Key names are "ferry-root-N", "ferry-signing-N" and "ferry-refresh-N".
// root.pub records the root threshold (how many root signatures a device
// requires at least, a floor for the agent's root_threshold) in a comment
// line, "# threshold T". A root-signed list always carries at least T root
// signatures.
//
// # Rotation
//
// Rotate adds signing-(N+1).key, AddRefresh refresh-(N+1).key; both write a
// new list at the next version, naming the new key and every key of the old
// list except one retired by name. Devices refuse a list older than the one
// they verified, so a retired key stays retired even against an origin that
// serves the old list. The keys used by the publisher are exactly those
// listed in the current list whose secret halves are in the folder: a
// retired key file may stay on disk and signs nothing. A folder holding only
// refresh keys (the cron machine's copy: root.pub, both lists, refresh-N.key)
// loads, and can only re-sign pointers.
//
// A folder made before format 2 has signing-keys.note only: it loads (as
// version 0, and only the format-1 list is published), and its next
// rotation or add-refresh writes version 1.
//
// The root keys need only be present when the list is signed (keygen,
// rotate, add-refresh); a publisher may keep them offline in between, as
// long as at least threshold of them are copied back for a change.
//
// # Files on disk
//
// Secret keys are created with O_EXCL and mode 0600 and fsynced; nothing is
// ever overwritten except the two lists, which are replaced atomically
// (temporary file, fsync, rename, fsync of the folder), format 1 first and
// format 2 last.
package keys
