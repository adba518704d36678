// Package layout names the files of a Ferry origin and of a device's state
// folder. Publisher and agent both use it, so they cannot disagree.
//
// Origin:
//
//	keys/signing-keys-2.note               signing-key list, format 2 (version, roles), signed by the root keys
//	keys/signing-keys.note                 signing-key list, format 1 (release keys), for agents before format 2
//	channels/<channel>.note                signed pointer to the channel's release
//	rollouts/<channel>.note                signed rollout document (stage, halt), by the fleet service
//	releases/<version>/manifest.note       signed manifest of a release
//	blobs/sha256/<ab>/<hash>.zst           file content, zstd, by SHA-256 of the content
//	deltas/<oldhash>/<newhash>.patch       patch from one content to another
//	deltas/<oldnote>/<newnote>.bundle      update bundle from one manifest note to another
package layout

import (
	"path"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// SigningKeys is the origin path of the signing-key list, format 1.
const SigningKeys = "keys/signing-keys.note"

// SigningKeys2 is the origin path of the signing-key list, format 2 (see
// package trust).
const SigningKeys2 = "keys/signing-keys-2.note"

// Channel returns the origin path of a channel pointer.
func Channel(channel string) string { return path.Join("channels", channel+".note") }

// Manifest returns the origin path of a release's signed manifest.
func Manifest(version string) string { return path.Join("releases", version, "manifest.note") }

// Blob returns the origin path of the compressed content with digest d.
func Blob(d manifest.Digest) string {
	h := d.String()
	return path.Join("blobs", "sha256", h[:2], h+".zst")
}

// Delta returns the origin path of the patch from content old to content new.
func Delta(old, new manifest.Digest) string {
	return path.Join("deltas", old.String(), new.String()+".patch")
}

// Bundle returns the origin path of the update bundle from the release whose
// manifest note has digest old to the one whose note has digest new.
func Bundle(old, new manifest.Digest) string {
	return path.Join("deltas", old.String(), new.String()+".bundle")
}

// RolloutDoc returns the origin path of a channel's rollout document,
// written by the fleet service and signed by its rollout key.
func RolloutDoc(channel string) string {
	return path.Join("rollouts", channel+".note")
}
