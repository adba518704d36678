// Package install applies a release to a device's target folder in one
// crash-safe transaction: a power cut at any instant leaves the target holding
// exactly the old release or exactly the new one, never a mix, and the
// commit record agrees with it.
//
// # The transaction
//
//  1. Plan: the new manifest against what is on disk (hashing files whose
//     size matches) gives add, replace, delete and chmod operations. A file
//     whose content is already right is never written. Only paths of the new
//     manifest, and paths the old manifest managed, are touched.
//  2. Stage: every needed content is streamed from the Fetcher through a
//     verifying writer (size and hash checked as it is written: nothing
//     unverified is ever staged) into <state>/txn/stage, then fsynced. The new
//     manifest document is stored in <state>/manifests.
//  3. Journal: the operations and the record to commit are written to
//     <state>/txn/journal.json (temp file, fsync, rename, fsync dir). From
//     here on, recovery knows what to undo.
//  4. Swap, phase A: every file that will be replaced or deleted is
//     hard-linked into <state>/txn/backup; the backup folder is fsynced.
//     Phase B: deletions, new folders, renames of staged files over their
//     targets (rename(2) replaces atomically: no instant where a path holds no
//     file), chmods; then every touched folder is fsynced.
//  5. Commit: <state>/installed.json is replaced atomically (temp, fsync,
//     rename, fsync dir). This one rename is the commit point.
//  6. Clean-up: folders left empty by deletions are removed, then the
//     journal, then the rest of the transaction folder.
//
// Recovery (Recover, run at every start) looks at the journal and the commit
// record. No journal: whatever lies in the transaction folder is debris and
// is removed. A journal whose record is not the committed one: the
// transaction is undone, operation by operation (each undo step checks the
// disk, so running it twice is running it once), the target folders are
// fsynced before the backup folder, and the journal is removed last. A
// journal whose record is committed: clean-up is finished. Recovery itself
// survives a power cut at any instant.
//
// # Trials
//
// With Options.Trial the commit record is marked as on trial and the journal
// and backups are kept after the commit: Confirm ends the trial and cleans up;
// Rollback undoes the release and commits the previous record again. A
// rollback marker makes an interrupted rollback finish on the next Recover.
//
// # Requirements
//
// The state folder must be on the target's filesystem (rename and link do
// not cross filesystems), and that filesystem must support hard links.
package install
