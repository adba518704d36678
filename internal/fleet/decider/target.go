package decider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/atomicfile"
	"github.com/ferry-ota/ferry/internal/layout"
)

// Target is the origin the decider follows and writes to: it reads a
// channel's pointer from it and puts the channel's rollout document where
// the devices that fetched that pointer will look for it.
type Target interface {
	// Pointer returns the signed channel pointer (nil, nil: none).
	Pointer(ctx context.Context, channel string) ([]byte, error)
	// Doc returns the rollout document of the channel beside the pointer
	// last read (nil, nil: none).
	Doc(ctx context.Context, channel string) ([]byte, error)
	// PutDoc replaces the channel's rollout document with msg.
	PutDoc(ctx context.Context, channel string, msg []byte) error
	// String names the target in logs.
	String() string
}

// Folder is a Target: an origin folder, written by `ferry release
// --origin DIR`; the document is DIR/rollouts/<channel>.note.
type Folder string

// Pointer implements Target.
func (f Folder) Pointer(_ context.Context, channel string) ([]byte, error) {
	return f.read(layout.Channel(channel))
}

// Doc implements Target.
func (f Folder) Doc(_ context.Context, channel string) ([]byte, error) {
	return f.read(layout.RolloutDoc(channel))
}

// PutDoc implements Target.
func (f Folder) PutDoc(_ context.Context, channel string, msg []byte) error {
	name := filepath.Join(string(f), filepath.FromSlash(layout.RolloutDoc(channel)))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(name, msg, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// String implements Target.
func (f Folder) String() string { return "origin folder " + string(f) }

func (f Folder) read(p string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(string(f), filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}
