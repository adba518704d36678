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
//     manifest managed, are touched. The plan is a merge of the two
//     manifests, both sorted by path, read line by line from their stored
//     documents (manifest.Scanner): no manifest and no list of operations
//     is held in memory, only the folders that change. Each operation is
//     written to the journal's temporary file as it is found. A deletion
//     (a file of the old manifest that the new one lacks) comes before any
//     path below it in the merge, because a path may change between file
//     and folder:
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
//     A folder the new release needs as a file is checked against one more
//     read of the old manifest (its files come after it in path order).
//  2. Stage: every needed content is streamed from the Fetcher through a
//     verifying writer (size and hash checked as it is written: nothing
//     unverified is ever staged) into <state>/txn/stage, then fsynced. The
//     operations are read back from the journal's temporary file, each
//     file's entry from the manifests. The new manifest document was stored
//     in <state>/manifests before the plan (Release.DocumentFile is moved
//     there, never read into memory).
//  3. Journal: the journal's temporary file, complete and fsynced since the
//     plan, is renamed to <state>/txn/journal.json, and the folder fsynced.
//     From here on, recovery knows what to undo.
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
// Since the plan is streamed (issue #15), n numbers the operations in the
// order they were planned: a delete's n is no longer its position in the
// list (deletes are planned among the others and written after them, from
// a spill file txn/journal.json.tmp.deletes). n was only ever a name, so
// journals of either agent are read by the other; the fields, their order
// and the order of the list are unchanged, and the bytes are what
// json.Marshal makes of them, as before. The journal is never read whole:
// recovery walks its operations from the file (encoding/json, one value at
// a time) once per step, holding only the rmdirs (an undo reverses them);
// the other operations are undone in journal order, each of its own path.
//
// # The slots layout
//
// With Installer.Layout = LayoutSlots, target is a symbolic link to one of
// two folders beside it, target.slot-a and target.slot-b; the application
// runs from target. Install:
//
//  1. drops the previous release from the commit record (its slot is about
//     to be rebuilt), then empties the inactive slot;
//  2. builds the release there: a file the active slot holds with the same
//     content (hashed) and mode is hard-linked, not copied; a file with the
//     same content and a new mode is copied (an inode both slots share is
//     never changed); every other file is fetched, verified while written
//     (deltas from the active slot's copy). Files, links and empty folders
//     of the device's own (paths no release manages, e.g. outside allow) are
//     carried over, hard-linked; one in the way of a release file stops the
//     install with ErrConflict. Every file and folder is fsynced, and each
//     file checked against the manifest (type, size, mode);
//  3. journals the switch (<state>/slots.json: the record to commit, the
//     record before, the slot);
//  4. flips: a new link under a temporary name (target.slot-new), fsync of
//     the folder, rename(2) over target (atomic), fsync of the folder;
//  5. commits the record (which names its slot, and the release in the other
//     slot as Previous) and removes the journal.
//
// Until step 3 the target is untouched; from step 3 on, recovery completes
// the switch (the slot was complete and durable before it was journaled).
// An error with the power on switches back instead. Rollback (trial or not)
// is the same switch towards the previous slot: no file is copied, and the
// rolled-back record has no previous release. Confirm only clears the trial;
// the previous slot stays until the next update. The state folder must be
// outside target (a slot must not hold it).
//
// Convert changes a device between the layouts, journaled in
// <state>/convert.json and completed by recovery: to slots, the target
// folder is renamed to slot a and a link takes its place; back in place, the
// link is removed, the slot renamed to target, and the other slot removed.
// The target is missing for an instant between the two renames.
//
// # Requirements
//
// The state folder must be on the target's filesystem (rename and link do
// not cross filesystems), and that filesystem must support hard links.
package install
