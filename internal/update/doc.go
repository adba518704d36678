// Package update runs one update cycle of the agent: it polls the channel
// pointer, verifies it and the release manifest through the trust chain,
// refuses rollback and freeze attacks, and has package install apply the
// release with contents fetched from the origin and verified as they stream.
//
// Order of trust, for a Ferry origin (or GitHub release assets):
//
//  1. channels/<channel>.note, fetched conditionally (If-None-Match, or
//     If-Modified-Since from a server that sends Last-Modified and no ETag):
//     a poll with nothing new is one body-less 304. A cached pointer is
//     still checked for expiry, so a frozen origin is noticed: an expired
//     one is asked for once more without condition before the cycle fails.
//  2. The signing-key list. The pointer's "keys" line (read from the
//     unverified pointer only to choose) names the format-2 list it was
//     signed under: when that is the list poll.json holds, no request is
//     made; otherwise keys/signing-keys-2.note is fetched, conditionally
//     (keys/signing-keys.note, format 1, only if it is missing and the
//     device never verified a format-2 list). The held or fetched list is
//     verified against the pinned root keys (at least their threshold, which
//     root.pub's "# threshold" line sets a floor to) and its expiry, and
//     refused if its version is lower than the one recorded in
//     <state>/signing-keys.json, or equal with other content. A higher
//     version is recorded there (atomically, only when it changes) before
//     anything else: a key retired by a newer list stays retired even if
//     the origin serves the old one again.
//  3. The pointer, verified against the keys with role release or refresh,
//     and refused (ErrMismatch) if its "keys" line names a list other than
//     the one that verified it; its channel must be the configured one, its
//     sequence not lower than the installed one (rollback), its expiry in
//     the future (freeze).
//     Then, when the pointer carries "rollout-doc 1" (a stage the fleet service
//     governs) and names a release the device does not hold: the channel's
//     rollout document, rollouts/<channel>.note, fetched conditionally
//     (cached in <state>/rollout.json: a 304 on most polls) and verified,
//     when new, against the keys with role rollout:<channel> only (no
//     release or refresh key can sign one; a rollout key signs no pointer or
//     manifest). It must name the pointer's release (manifest SHA-256) and
//     not be expired; its percentage replaces the pointer's for Admit (the
//     canary check), and a halted release is not taken ("halted by the
//     fleet: <reason>"). A missing, expired, untrusted or mismatched
//     document defers: never take. A document issued before the one held is
//     ignored. A device that already installed the release is not affected
//     (its own health gate rolls back). A deferred cycle caches the verified
//     pointer too, so that the next poll is a 304: a device waiting at a
//     stage pays two requests a poll (pointer and document), an up-to-date
//     device one. (rollout.go)
//  4. The manifest note, whose SHA-256 must be the one in the pointer and
//     whose signature, by a key with role release, must verify too (a
//     refresh key signs no manifest); its channel, version and sequence must
//     match the pointer's. A device holding a release gets it, in order of
//     preference, from the update bundle to the new release (package bundle:
//     the note and the changed files' contents in one stream, decoded into
//     the downloads folder, the note accepted only if its SHA-256 is the
//     pointer's), from a patch of the note it holds, or whole. Whichever
//     way, the note is written to <state>/downloads/manifest.note and
//     verified there, each check one pass over the file: its SHA-256, its
//     signatures (trust.VerifyFile: the text streams through each
//     signature's Ed25519 hash) and every line (manifest.Scanner, with
//     the limits); then install moves the file into the state folder and
//     reads it line by line. A manifest of 50,000 files (about 5 MB) is
//     never in memory; only a bundle's dictionary (the installed note)
//     is, while a bundle decodes.
//  5. Every file's bytes, checked against the manifest as they are written:
//     a content the bundle decoded is checked again as it is staged; others
//     come from a patch or the blob.
//
// Every fetch of the cycle, of every kind, goes through the same transfer:
// origin.Download for what is written to a file (bundle, patch, blob) and
// origin.ReadAll for the small documents (pointer, key list, manifest,
// manifest patch), under Options.Retry: transient failures are retried
// with backoff (or Retry-After), a stalled or cut-short body resumes with
// Range, and a body that ends early is never an error while retries are
// left. The conditional poll of step 1 is still one request.
//
// Links that cost money (Options.Budget, budget.go): when a Budget is set,
// the cycle asks it once, after the manifest is verified and before any
// file content is fetched, with the bytes the update takes by the path it
// will take: what the manifest cost plus the signed compressed size (zsize)
// of every file whose content it does not hold (exact for blobs; an upper
// bound when a patch is taken or a file is already on disk). The update
// bundle's size is in no signed document, so the bundle is tried only when
// the Budget says its link is free. A *Deferral ends the cycle with
// Result.Deferred; the link used is Result.Link, in the result line.
package update
