package publish

import (
	"github.com/ferry-ota/ferry/internal/atomicfile"

	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeAtomic replaces the origin file rel (a layout path) with data: a
// temporary file in the same folder, fsync, rename, fsync of the folder.
func writeAtomic(origin, rel string, data []byte) error {
	name := filepath.Join(origin, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("write %q: %w", rel, err)
	}
	return atomicfile.Write(name, data, 0o644)
}

// readOrigin reads the origin file rel, refusing one over max bytes. A
// missing file returns fs.ErrNotExist.
func readOrigin(origin, rel string, max int64) ([]byte, error) {
	f, err := os.Open(filepath.Join(origin, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", rel, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("origin file %q is over %d bytes", rel, max)
	}
	return data, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
