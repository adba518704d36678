package vfs_test

import (
	"fmt"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// replace is the usual atomic replacement: temp file, fsync, rename, fsync
// of the directory.
func replace(fsys vfs.FS, name string, data []byte) error {
	f, err := fsys.Create(name+".tmp", 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(name+".tmp", name); err != nil {
		return err
	}
	return fsys.SyncDir("/state")
}

// An exhaustive crash test: count the operations of one clean run, then
// cut the power at each of them in turn (and once after the last), reboot
// under every crash mode, and check what survived.
func Example_crashTest() {
	base := vfs.NewMemFS()
	base.WriteFile("/state/record", []byte("old"), 0o644)

	clean := base.Clone()
	replace(clean, "/state/record", []byte("new"))
	n := clean.Ops()

	outcomes := map[string]int{}
	modes := []vfs.CrashMode{vfs.DropUnsynced, vfs.KeepAll, vfs.KeepRandom(1), vfs.KeepRandom(2)}
	for k := 1; k <= n+1; k++ {
		for _, mode := range modes {
			m := base.Clone()
			m.SetPowerCutAt(k)
			err := replace(m, "/state/record", []byte("new"))
			if (err == nil) != (k > n) {
				fmt.Println("unexpected error:", k, err)
			}
			m.Crash(mode)
			got, _ := m.ReadFile("/state/record")
			outcomes[string(got)]++
		}
	}
	fmt.Println(n, "operations;", outcomes)
	// Output: 5 operations; map[new:5 old:19]
}
