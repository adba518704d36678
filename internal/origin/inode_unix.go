//go:build unix

package origin

import (
	"io/fs"
	"syscall"
)

// inode returns the inode number of a file, part of a folder origin's ETag.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) //nolint:unconvert // Ino is not uint64 on every unix
	}
	return 0
}
