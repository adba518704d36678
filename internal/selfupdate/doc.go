// Package selfupdate replaces the running ferry-agent binary with the one a
// verified release carries for the device's target (manifest.Agent), and
// puts the previous binary back if the new one does not pass its
// self-check.
//
// # The swap
//
//  1. Stage: the binary is streamed from the origin into EXE.ferry-new
//     beside the running one (same folder, so the rename below is atomic),
//     its size and SHA-256 checked against the signed manifest as it is
//     written, made executable and fsynced.
//  2. Pre-check: the staged binary is run (`EXE.ferry-new version`, with a
//     timeout) and must print the manifest's version. A binary that does not
//     start is never swapped in.
//  3. Journal: <state>/agent-swap.json names the version being swapped in.
//  4. Back up: EXE is hard-linked to EXE.ferry-prev; the folder is fsynced.
//  5. Swap: EXE.ferry-new is renamed over EXE (atomic); the folder is
//     fsynced.
//  6. Check again, as EXE: on failure the backup is renamed back over EXE.
//  7. Commit: the journal is removed (the commit point), then the backup.
//
// A failed check records the version in <state>/agent-failed.json: it is
// not tried again (a newer agent version is). Recover, run at every start,
// puts the previous binary back if a swap was interrupted before its commit
// (journal present), and removes leftovers otherwise: after a power cut at
// any instant EXE is exactly the old binary or exactly the new one.
//
// The caller updates the application first and the agent after, so an
// application update in the same release is installed (or rolled back by
// its own health gate) whatever becomes of the agent's.
package selfupdate
