package publish

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// maxWorkers caps parallel compression: each worker holds a zstd encoder of
// some tens of MiB at SpeedBestCompression.
const maxWorkers = 4

// collect stores the blobs of every file of src and returns the files. A
// Lister is compressed by up to workers files at a time (0: one per CPU, at
// most maxWorkers).
func collect(ctx context.Context, src Source, origin string, prog *progress, workers int) ([]manifest.File, error) {
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), maxWorkers)
	}
	var files []manifest.File
	var err error
	if l, ok := src.(Lister); ok && workers > 1 {
		files, err = collectParallel(ctx, l, origin, prog, workers)
	} else {
		files, err = collectSerial(ctx, src, origin, prog)
	}
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%w: the source is empty (a device would delete every file it manages)", ErrEmpty)
	}
	if err == nil {
		err = manifest.CaseCollision(files)
	}
	return files, err
}

func collectSerial(ctx context.Context, src Source, origin string, prog *progress) ([]manifest.File, error) {
	store, err := newBlobStore(origin, prog, new(sync.Mutex))
	if err != nil {
		return nil, err
	}
	var files []manifest.File
	err = src.Walk(ctx, func(e Entry, r io.Reader) error {
		f, err := store.putChecked(ctx, e, r)
		files = append(files, f)
		return err
	})
	return files, err
}

// collectParallel lists src, then stores its files with workers goroutines,
// each with its own encoder. The first error stops the others.
func collectParallel(ctx context.Context, src Lister, origin string, prog *progress, workers int) ([]manifest.File, error) {
	entries, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	files := make([]manifest.File, len(entries))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	mu := new(sync.Mutex)
	for range min(workers, len(entries)) {
		store, err := newBlobStore(origin, prog, mu)
		if err != nil {
			cancel(err)
			break
		}
		wg.Go(func() {
			for i := range next {
				if err := storeOne(ctx, store, src, entries[i], &files[i]); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range entries {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return files, context.Cause(ctx)
}

func storeOne(ctx context.Context, store *blobStore, src Lister, e Entry, dst *manifest.File) error {
	if ctx.Err() != nil {
		return nil // another worker failed; its error is the cause
	}
	r, err := src.Open(e)
	if err != nil {
		return err
	}
	defer r.Close()
	*dst, err = store.putChecked(ctx, e, r)
	return err
}

// putChecked validates e's path, stores its content and counts it.
func (s *blobStore) putChecked(ctx context.Context, e Entry, r io.Reader) (manifest.File, error) {
	if err := manifest.ValidPath(e.Path); err != nil {
		return manifest.File{}, err
	}
	f, isNew, err := s.put(ctx, e, r)
	if err == nil {
		s.prog.file(f.ZSize, isNew)
	}
	return f, err
}
