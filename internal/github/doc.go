// Package github makes a GitHub repository a Ferry origin, for users who keep
// their device code on GitHub and run no server of their own, and publishes
// Ferry releases to it.
//
// # Parties and channels
//
// The publisher runs `ferry release --github owner/repo --tag vX`: it builds
// the signed origin as for any origin, then ReleaseAssets picks the files of
// the channel's current release (both signing-key lists, pointer, manifest,
// its blobs and the deltas to them: GitHub takes at most MaxAssets a
// release) and
// UploadRelease attaches them to the GitHub release of the tag as assets
// named AssetName(path) ("channels/stable.note" → "channels_stable.note").
// A new release is a draft until every asset is up, so that "latest" never
// names a half-uploaded release.
//
// The agent's [github] config section picks one of two channels:
//
//   - stable (the default): NewReleaseSource is an origin.Source over the
//     assets of the latest release. Trust comes from the signed files in it
//     and the pinned root keys exactly as with a Ferry origin; GitHub and TLS
//     are only transport. A release without Ferry's assets is ErrUnsigned;
//     with allow_unsigned the agent may take UnsignedRelease instead, the
//     tree at the release's tag, trusted as the developer channel is.
//   - developer: DevRelease turns the head of a branch into a manifest whose
//     files carry git blob SHA-1s (manifest.File.GitSHA1), and OpenRaw
//     streams a file at that commit; the installer checks each file's git
//     SHA-1 as it streams. DevUpdate runs both through the installer's
//     transaction. Trust is TLS plus git's SHA-1; the config must say
//     allow_unsigned = true. subdir and the Allow filter apply to the tree
//     listing, before anything is downloaded.
//
// # Being a good API citizen
//
// A fleet polling one repository must not exhaust its rate limit (60
// requests an hour per address without a token, 5,000 with one):
//
//   - The latest release and the branch ref are fetched with If-None-Match,
//     so a poll with nothing new is one 304, which GitHub does not count.
//     Trees and commits are addressed by SHA and never fetched twice for the
//     same commit.
//   - Every answer's X-RateLimit-Remaining/Reset and Retry-After are read.
//     A 403 or 429 rate-limit answer is a *RateLimitError with the reset
//     time (Retry-After first, then X-RateLimit-Reset, else a minute, as
//     GitHub advises for secondary limits), logged as "rate limited until
//     …"; until then the Client sends nothing and fails at once. An answer
//     that used the last request closes the gate the same way.
//   - Without a token (a public repository), assets are downloaded from
//     their browser_download_url, outside the API rate limit: a first
//     install of a few hundred files costs one API request, not hundreds.
//     With a token they come through the API URL, which private
//     repositories need. Both redirect to storage.
//   - Requests carry User-Agent "ferry-agent/<version>" and, when token_file
//     is set, "Authorization: Bearer <token>". The token is read once, never
//     logged, and never sent across a redirect to another host (asset
//     downloads redirect to pre-signed storage URLs).
//
// # The hostile network
//
// Every GET the agent makes here has the retry policy and stall cut-off of
// every other fetch (Options.Retry, Options.StallTimeout: the config's
// http_retries, backoff_sec, max_backoff_sec and stall_sec): a JSON answer
// or tree listing the link drops, cuts short or stalls, or a 5xx, is asked
// for again (origin.Retry); a raw file streams through origin.Download and
// resumes with Range where it stopped; release assets are fetched by the
// update cycle's origin.Download and origin.ReadAll, so NewReleaseSource
// itself makes one attempt per fetch and retries do not multiply. A rate
// limit is never retried early. The publisher's writes (POST, PATCH,
// DELETE, uploads) are not retried.
//
// # Untrusted input
//
// GitHub's answers are input like any other. JSON bodies are read with a size
// cap; a tree answer whose Content-Length is over max_tree_kb is refused
// before it is read, and one with more than max_tree_files entries while it
// is parsed, each with an error that names the key to raise. When GitHub
// truncates a recursive tree listing (about 100,000 entries), the tree is
// listed flat and each subtree in scope is walked. Paths must pass
// manifest.ValidPath; a file whose path cannot (e.g. one under ".ferry") and
// symbolic links and submodules are skipped with a logged warning, as a
// device cannot install them safely.
//
// Package fakegh is a fake GitHub on 127.0.0.1 fed by a real git repository,
// which the tests of this package run against.
package github
