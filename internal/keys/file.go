package keys

import (
	"github.com/ferry-ota/ferry/internal/atomicfile"

	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeExclusive creates name (failing if it exists), writes data and fsyncs
// the file and its folder.
func writeExclusive(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %q: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %q: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", name, err)
	}
	return syncDir(filepath.Dir(name))
}

// writeFileAtomic replaces name with data: at every instant name holds
// either the old or the new content.
func writeFileAtomic(name string, data []byte, perm fs.FileMode) error {
	return atomicfile.Write(name, data, perm)
}

func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
