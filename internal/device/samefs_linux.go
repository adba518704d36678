package device

import (
	"fmt"
	"syscall"
)

// sameFilesystem refuses a state folder on another filesystem than the
// target: the install transaction renames and links between them.
func sameFilesystem(target, state string) error {
	var a, b syscall.Stat_t
	if err := syscall.Stat(target, &a); err != nil {
		return fmt.Errorf("stat %s: %w", target, err)
	}
	if err := syscall.Stat(state, &b); err != nil {
		return fmt.Errorf("stat %s: %w", state, err)
	}
	if a.Dev != b.Dev {
		return fmt.Errorf("state %q and target %q are on different filesystems: atomic rename cannot cross them; put state on the target's filesystem (e.g. %s/.ferry)", state, target, target)
	}
	return nil
}
