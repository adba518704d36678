// Package keys manages the publisher's key folder: the offline root keys, the
// online signing keys and the root-signed bundle that lists the signing keys.
//
// # The folder
//
// `ferry keygen --out KEYS` creates:
//
//	KEYS/root-1.key … root-N.key   root signer keys (secret, mode 0600)
//	KEYS/root.pub                  root verifier keys, one a line: the one file a device pins
//	KEYS/signing-1.key             a signing signer key (secret, mode 0600)
//	KEYS/signing-keys.note         trust.MarshalBundle of the signing verifier keys,
//	                               signed by every root key in the folder
//
// Key names are "ferry-root-N" and "ferry-signing-N". root.pub records the
// root threshold (how many root signatures a device requires, the agent's
// root_threshold) in a comment line, "# threshold T", which verifiers ignore.
// A root-signed bundle always carries at least T root signatures.
//
// # Rotation
//
// Rotate adds signing-(N+1).key and writes a new bundle listing the new key
// and every key of the old bundle, except one retired by name. The signing
// keys used by the publisher are exactly those listed in the current bundle
// whose secret halves are in the folder: a retired key file may stay on disk
// and signs nothing. Devices need no change for a rotation: they fetch the
// bundle from the origin and check it against the pinned root.pub.
//
// The root keys need only be present when the bundle is signed (keygen and
// rotate); a publisher may keep them offline between rotations, as long as
// at least threshold of them are copied back for a rotation.
//
// # Files on disk
//
// Secret keys are created with O_EXCL and mode 0600 and fsynced; nothing is
// ever overwritten except signing-keys.note, which is replaced atomically
// (temporary file, fsync, rename, fsync of the folder).
package keys
