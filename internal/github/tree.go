package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Tree is a git tree listing (GET /git/trees/{sha}).
type Tree struct {
	SHA       string      `json:"sha"`
	Entries   []TreeEntry `json:"tree"`
	Truncated bool        `json:"truncated"` // GitHub cut a recursive listing short
}

// TreeEntry is one entry of a tree. Path is relative to the tree listed.
type TreeEntry struct {
	Path string `json:"path"`
	Mode string `json:"mode"` // "100644", "100755", "120000" (symlink), "040000", "160000" (submodule)
	Type string `json:"type"` // "blob", "tree" or "commit"
	SHA  string `json:"sha"`
	Size int64  `json:"size"` // blobs only
}

// ParseTree decodes a tree listing, refusing one with more than maxFiles
// entries, without keeping more than maxFiles+1 of them.
func ParseTree(r io.Reader, maxFiles int) (*Tree, error) {
	dec := json.NewDecoder(r)
	t := new(Tree)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: tree: %v", ErrProtocol, err)
		}
		switch key, _ := tok.(string); key {
		case "sha":
			err = dec.Decode(&t.SHA)
		case "truncated":
			err = dec.Decode(&t.Truncated)
		case "tree":
			if err = decodeEntries(dec, t, maxFiles); err != nil {
				return nil, fmt.Errorf("tree: %w", err)
			}
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: tree: %v", ErrProtocol, err)
		}
	}
	// A listing cut short must not pass for a complete tree: the files it
	// misses would look deleted.
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("tree: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: tree: data after the listing", ErrProtocol)
	}
	return t, nil
}

func decodeEntries(dec *json.Decoder, t *Tree, maxFiles int) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		if len(t.Entries) >= maxFiles {
			return fmt.Errorf("%w: tree has more than %d entries (max_tree_files): raise max_tree_files in [github], or set subdir", ErrTreeTooLarge, maxFiles)
		}
		var e TreeEntry
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("%w: entry %d: %v", ErrProtocol, len(t.Entries), err)
		}
		t.Entries = append(t.Entries, e)
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if tok != d {
		return fmt.Errorf("%w: want %q, got %v", ErrProtocol, d, tok)
	}
	return nil
}

// GetTree lists tree sha, recursively when asked. It refuses an answer whose
// Content-Length is over max_tree_kb before reading it (and cuts one without
// a length at that size), and one with more than the budget of entries left.
//
// A listing the link cuts short, drops or stalls is asked for again under
// the Client's retry policy (GitHub's API answers whole: no Range).
func (c *Client) GetTree(ctx context.Context, sha string, recursive bool, budget int) (*Tree, error) {
	u := c.repoURL("git/trees/%s", url.PathEscape(sha))
	if recursive {
		u += "?recursive=1"
	}
	var t *Tree
	err := c.withRetry(ctx, u, func(ctx context.Context) error {
		var err error
		t, err = c.getTreeOnce(ctx, u, sha, budget)
		return err
	})
	return t, err
}

// getTreeOnce is one attempt of GetTree.
func (c *Client) getTreeOnce(ctx context.Context, u, sha string, budget int) (*Tree, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil, "")
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %q: status %q", ErrProtocol, u, resp.Status)
	}
	max := c.cfg.MaxTreeKB << 10
	tooBig := fmt.Errorf("%w: tree %s is over %d KiB (max_tree_kb): raise max_tree_kb in [github], or set subdir", ErrTreeTooLarge, sha, c.cfg.MaxTreeKB)
	if resp.ContentLength > max {
		return nil, tooBig
	}
	lr := &io.LimitedReader{R: resp.Body, N: max + 1}
	rd := &readErr{r: lr}
	t, err := ParseTree(rd, budget)
	switch {
	case lr.N <= 0:
		return nil, tooBig
	case err != nil && rd.err != nil:
		// The link failed, not the listing: say so, and keep the cause
		// (io.ErrUnexpectedEOF, a reset, a stall) so that it is retried.
		return nil, fmt.Errorf("github: GET %q: %w", u, rd.err)
	case errors.Is(err, ErrTreeTooLarge): // budget is what is left of max_tree_files
		return nil, fmt.Errorf("%w: the tree has more than %d entries (max_tree_files): raise max_tree_files in [github], or set subdir",
			ErrTreeTooLarge, c.cfg.MaxTreeFiles)
	}
	return t, err
}

// walkTree lists every entry below tree sha whose path is in scope, with
// paths relative to the root tree. It asks for one recursive listing and,
// when GitHub truncates it, lists the tree flat and walks each subtree in
// scope the same way. max_tree_files caps the entries of all listings.
func (c *Client) walkTree(ctx context.Context, sha, prefix string, budget *int, scope func(dir string) bool) ([]TreeEntry, error) {
	t, err := c.GetTree(ctx, sha, true, *budget)
	flat := err == nil && t.Truncated
	if flat {
		c.log.Info("github: tree listing truncated; walking its subtrees", "tree", sha, "path", prefix)
		t, err = c.GetTree(ctx, sha, false, *budget)
	}
	if err != nil {
		return nil, err
	}
	if flat && t.Truncated {
		return nil, fmt.Errorf("%w: folder %q of tree %s: GitHub truncates even its flat listing", ErrTreeTooLarge, prefix, sha)
	}
	*budget -= len(t.Entries)
	var out []TreeEntry
	for _, e := range t.Entries {
		if flat && strings.Contains(e.Path, "/") {
			return nil, fmt.Errorf("%w: flat listing of tree %s has path %q", ErrProtocol, sha, e.Path)
		}
		e.Path = prefix + e.Path
		if e.Type == "tree" && flat && scope(e.Path) {
			sub, err := c.walkTree(ctx, e.SHA, e.Path+"/", budget, scope)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// readErr remembers the error of the reader under a decoder, other than
// io.EOF: a JSON decoder reports a body cut short as a syntax error.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
