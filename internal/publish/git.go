package publish

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Git is a Source reading a commit of a git repository with the git command,
// straight from the object store: `git ls-tree` lists the files and one
// `git cat-file --batch` streams their contents. No checkout is made.
// Mode 100755 becomes 0755 and other files 0644; symbolic links and
// submodules are refused.
type Git struct {
	Repo string // the repository (a work tree or a bare repository)
	Ref  string // a tag, branch or commit
}

type gitEntry struct {
	Entry
	object string
}

// Walk implements Source.
func (g Git) Walk(ctx context.Context, fn func(Entry, io.Reader) error) error {
	commit, err := g.resolve(ctx)
	if err != nil {
		return err
	}
	entries, err := g.list(ctx, commit)
	if err != nil {
		return err
	}
	return g.cat(ctx, entries, fn)
}

// resolve returns the commit Ref names.
func (g Git) resolve(ctx context.Context) (string, error) {
	if g.Ref == "" || strings.HasPrefix(g.Ref, "-") {
		return "", fmt.Errorf("%w: invalid ref %q", ErrGit, g.Ref)
	}
	out, err := g.output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", g.Ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%w: ref %q is not a commit in %q", ErrGit, g.Ref, g.Repo)
	}
	return strings.TrimSpace(string(out)), nil
}

// list parses `git ls-tree -r -z --long`: "MODE TYPE OBJECT SIZE\tPATH\0".
func (g Git) list(ctx context.Context, commit string) ([]gitEntry, error) {
	out, err := g.output(ctx, "ls-tree", "-r", "-z", "--long", "--full-tree", commit)
	if err != nil {
		return nil, err
	}
	var entries []gitEntry
	for _, rec := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if rec == "" {
			continue
		}
		e, err := parseTreeLine(rec)
		if err != nil {
			return nil, fmt.Errorf("ref %q: %w", g.Ref, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func parseTreeLine(rec string) (gitEntry, error) {
	meta, path, ok := strings.Cut(rec, "\t")
	f := strings.Fields(meta)
	e := gitEntry{Entry: Entry{Path: path}}
	if !ok || len(f) != 4 {
		return e, fmt.Errorf("%w: ls-tree line %q", ErrGit, rec)
	}
	switch f[0] {
	case "120000":
		return e, fmt.Errorf("%w: %q is a symbolic link: a release carries regular files only", ErrUnsupported, path)
	case "160000":
		return e, fmt.Errorf("%w: %q is a git submodule: publish the submodule's files from a folder or vendor them", ErrUnsupported, path)
	case "100755":
		e.Mode = 0o755
	default:
		e.Mode = 0o644
	}
	if f[1] != "blob" {
		return e, fmt.Errorf("%w: %q is a %s (mode %s), not a file", ErrUnsupported, path, f[1], f[0])
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || size < 0 {
		return e, fmt.Errorf("%w: ls-tree size %q of %q", ErrGit, f[3], path)
	}
	e.Size, e.object = size, f[2]
	return e, nil
}

// cat streams the contents of entries through one `git cat-file --batch`.
func (g Git) cat(ctx context.Context, entries []gitEntry, fn func(Entry, io.Reader) error) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "-C", g.Repo, "cat-file", "--batch")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrGit, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrGit, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start git: %v", ErrGit, err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, e := range entries {
			if _, err := w.WriteString(e.object + "\n"); err != nil {
				break
			}
		}
		w.Flush()
		stdin.Close()
	}()
	err = g.readBatch(ctx, bufio.NewReaderSize(stdout, 64<<10), entries, fn)
	if err != nil {
		cancel()
	}
	werr := cmd.Wait()
	if err == nil && werr != nil {
		err = fmt.Errorf("%w: cat-file: %v: %s", ErrGit, werr, strings.TrimSpace(stderr.String()))
	}
	return err
}

// readBatch reads "OBJECT blob SIZE\nCONTENT\n" for every entry.
func (g Git) readBatch(ctx context.Context, br *bufio.Reader, entries []gitEntry, fn func(Entry, io.Reader) error) error {
	for _, e := range entries {
		hdr, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("%w: cat-file %q: %v", ErrGit, e.Path, err)
		}
		want := fmt.Sprintf("%s blob %d\n", e.object, e.Size)
		if hdr != want {
			return fmt.Errorf("%w: cat-file %q: header %q, want %q", ErrGit, e.Path, hdr, want)
		}
		lr := &io.LimitedReader{R: br, N: e.Size}
		gr := &gitReader{ctx: ctx, repo: g.Repo, object: e.object, r: lr}
		err = fn(e.Entry, gr)
		if cerr := gr.close(err != nil); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if lr.N != 0 {
			return fmt.Errorf("%w: %q: %d bytes not read", ErrChanged, e.Path, lr.N)
		}
		if b, err := br.ReadByte(); err != nil || b != '\n' {
			return fmt.Errorf("%w: cat-file %q: no newline after content", ErrGit, e.Path)
		}
	}
	return nil
}

// output runs git in the repository and returns its standard output.
func (g Git) output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.Repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: git %s: %v: %s", ErrGit, args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// gitReader reads one blob from the batch stream. It is an io.ReadSeeker
// so that the publisher can hash first and compress only new content: a
// rewind reads the blob again with its own `git cat-file blob`.
type gitReader struct {
	ctx    context.Context
	repo   string
	object string
	r      io.Reader
	cmd    *exec.Cmd
	out    io.ReadCloser
}

func (g *gitReader) Read(p []byte) (int, error) { return g.r.Read(p) }

// Seek supports only a rewind to the start.
func (g *gitReader) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, fmt.Errorf("%w: blob reader seeks to the start only", ErrGit)
	}
	if err := g.close(false); err != nil {
		return 0, err
	}
	g.cmd = exec.CommandContext(g.ctx, "git", "-C", g.repo, "cat-file", "blob", g.object)
	out, err := g.cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrGit, err)
	}
	if err := g.cmd.Start(); err != nil {
		return 0, fmt.Errorf("%w: start git: %v", ErrGit, err)
	}
	g.out, g.r = out, out
	return 0, nil
}

// close ends the process a rewind started, if any; abort kills it.
func (g *gitReader) close(abort bool) error {
	if g.cmd == nil {
		return nil
	}
	cmd := g.cmd
	g.cmd = nil
	if abort {
		cmd.Process.Kill()
		cmd.Wait()
		return nil
	}
	if _, err := io.Copy(io.Discard, g.out); err != nil {
		cmd.Process.Kill()
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%w: cat-file blob %s: %v", ErrGit, g.object, err)
	}
	return nil
}
