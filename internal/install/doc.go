// Package install applies a release to a device's target folder in one
// crash-safe transaction: a power cut at any instant leaves the target holding
// exactly the old release or exactly the new one, never a mix, and the
// commit record agrees with it.
//
// # The transaction
//
//  1. Plan: the new manifest against what is on disk (hashing files whose
//     size matches) gives add, replace, delete, chmod and rmdir operations
//     and the folders to create. A file whose content is already right is
//     never written. Only paths of the new manifest, and paths the old
//     manifest managed, are touched. The deletions (files of the old
//     manifest that the new one lacks) are planned first, because a path may
//     change between file and folder:
//     - a file the new release needs as a folder ("conf" becomes
//     "conf/main") is deleted, and the folder is created in its place;
//     - a folder where the new release has a file ("conf/main" becomes
//     "conf") is removed by rmdir operations, one per folder, deepest first
//     (each records the folder's mode), after its files are deleted; it
//     must hold nothing but files the plan deletes and folders that hold
//     nothing else (empty ones too), and at least one such file (the old
//     release managed it).
//     Any other file or folder in the way (one the old release did not
//     manage) stops the install with ErrConflict.
//  2. Stage: every needed content is streamed from the Fetcher through a
//     verifying writer (size and hash checked as it is written: nothing
//     unverified is ever staged) into <state>/txn/stage, then fsynced. The new
//     manifest document is stored in <state>/manifests.
//  3. Journal: the operations and the record to commit are written to
//     <state>/txn/journal.json (temp file, fsync, rename, fsync dir). From
//     here on, recovery knows what to undo.
//  4. Swap, phase A: every file that will be replaced or deleted is
//     hard-linked into <state>/txn/backup; the backup folder is fsynced.
//     Phase B, in this order: deletions, rmdirs (deepest first), new folders
//     (shallowest first), renames of staged files over their targets
//     (rename(2) replaces atomically: no instant where a path holds no file),
//     chmods; then every touched folder is fsynced, deepest first.
//  5. Commit: <state>/installed.json is replaced atomically (temp, fsync,
//     rename, fsync dir). This one rename is the commit point.
//  6. Clean-up: folders left empty by deletions are removed, then the
//     journal, then the rest of the transaction folder.
//
// Recovery (Recover, run at every start) looks at the journal and the commit
// record. No journal: whatever lies in the transaction folder is debris and
// is removed. A journal whose record is not the committed one: the
// transaction is undone, operation by operation, in the reverse order of
// phase B: added files are removed and replaced ones and modes restored;
// created folders are removed, deepest first (only if they are folders and
// empty); rmdir'd folders are made again with their recorded mode,
// shallowest first; deleted files come back from their backups. So a folder
// that took a file's place is gone before the file returns, and a folder
// that gave way to a file is back before its files. Each undo step checks the
// disk (a folder where an added file should be is the old release's, not yet
// removed; a path below a file is gone), so running it twice is running it
// once. If a folder the transaction created holds files it did not install
// (a trial's application wrote there) where a deleted file must come back,
// the undo stops with ErrConflict and goes on at the next Recover once they
// are moved away. Then the target folders are fsynced before the backup
// folder, and the journal is removed last. A journal whose record is
// committed: clean-up is finished. Recovery itself survives a power cut at
// any instant.
//
// # Trials
//
// With Options.Trial the commit record is marked as on trial and the journal
// and backups are kept after the commit: Confirm ends the trial and cleans up;
// Rollback undoes the release and commits the previous record again. A
// rollback marker makes an interrupted rollback finish on the next Recover.
//
// # The journal
//
// journal.json holds the record to commit ("record"), the one before it
// ("old"), the folders to create, shallowest first ("dirs"), and the
// operations ("ops"), each {"op", "path", "n", "mode", "old_mode"}: the
// adds, replaces and chmods in manifest order, then the deletes, then the
// rmdirs, deepest first. n numbers an operation: its staged content is
// txn/stage/<n>, its backup txn/backup/<n>. old_mode is what an undo
// restores (a chmod's file mode, an rmdir's folder mode). The rmdir
// operation is newer than the others: an agent that predates it must not
// recover a journal written by one that has it (upgrade the agent between
// transactions, never downgrade it during one).
//
// # Requirements
//
// The state folder must be on the target's filesystem (rename and link do
// not cross filesystems), and that filesystem must support hard links.
package install
