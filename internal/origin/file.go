package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// dirSource is an origin in a local folder: a mirror on disk, or a USB stick
// carried to a site with no link at all.
type dirSource struct {
	root string
}

// NewDir returns a Source that reads the files under the folder root.
// Request paths are resolved inside root through os.Root, so neither ".."
// nor a symbolic link can reach a file outside it. The ETag of a file is
// derived from its size, modification time and inode: a file replaced or
// rewritten gets a new one.
func NewDir(root string) Source {
	return &dirSource{root: root}
}

// Fetch opens req.Path under the folder.
func (d *dirSource) Fetch(ctx context.Context, req Request) (*Object, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("origin: open %q: %w", req.Path, err)
	}
	f, err := d.open(req.Path)
	if err != nil {
		return nil, err
	}
	obj, err := d.object(ctx, f, req)
	if err != nil {
		f.Close()
		return nil, err
	}
	return obj, nil
}

func (d *dirSource) open(p string) (*os.File, error) {
	root, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("origin: open folder %q: %w", d.root, err)
	}
	defer root.Close()
	f, err := root.Open(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %q in folder %q", ErrNotFound, p, d.root)
	case err != nil && isEscape(err):
		return nil, fmt.Errorf("%w %q: leads outside folder %q", ErrInvalidPath, p, d.root)
	case err != nil:
		return nil, fmt.Errorf("origin: open %q in folder %q: %w", p, d.root, err)
	}
	return f, nil
}

// isEscape reports whether err is os.Root refusing a path that leaves the
// root (by a symbolic link). os.Root has no exported sentinel for it; it
// reports an *fs.PathError that is neither "not exist" nor "permission".
func isEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err.Error() == "path escapes from parent"
}

func (d *dirSource) object(ctx context.Context, f *os.File, req Request) (*Object, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("origin: stat %q: %w", req.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q is not a regular file", ErrNotFound, req.Path)
	}
	size := fi.Size()
	tag := fmt.Sprintf(`"%x-%x-%x"`, size, fi.ModTime().UnixNano(), inode(fi))
	switch {
	case req.ETag != "" && req.ETag == tag:
		return nil, fmt.Errorf("%w: %q has etag %s", ErrNotModified, req.Path, tag)
	case size > req.MaxSize:
		return nil, fmt.Errorf("%w: %q is %d bytes, limit %d", ErrTooLarge, req.Path, size, req.MaxSize)
	case req.Offset > size:
		return nil, fmt.Errorf("%w: %q: offset %d, size %d", ErrRange, req.Path, req.Offset, size)
	}
	if _, err := f.Seek(req.Offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("origin: seek %q to %d: %w", req.Path, req.Offset, err)
	}
	rest := size - req.Offset
	return &Object{
		Body:   newBody(ctx, f, req.Path, req.MaxSize-req.Offset, rest),
		Size:   size,
		Offset: req.Offset,
		ETag:   tag,
	}, nil
}
