package update

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// FetchAgent streams the content of agent binary a from the origin into the
// writer out returns, resumably, as a file's blob is fetched. The writer
// must verify it (selfupdate does).
func FetchAgent(ctx context.Context, o Options, a manifest.Agent, out install.Sink) (int64, error) {
	in := o.Installer
	dl := filepath.Join(in.State, "downloads")
	if err := in.FS.Mkdir(dl, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("create %s: %w", dl, err)
	}
	bf, err := newBlobFetcher(o.Source, in.FS, dl, o.Retry, o.log())
	if err != nil {
		return 0, err
	}
	defer bf.close()
	err = bf.Fetch(ctx, a.File(), nil, out)
	return bf.downloaded, err
}
