package github

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Release is the part of GitHub's release object Ferry reads.
type Release struct {
	ID          int64     `json:"id"`
	TagName     string    `json:"tag_name"`
	Name        string    `json:"name"`
	Draft       bool      `json:"draft"`
	Prerelease  bool      `json:"prerelease"`
	UploadURL   string    `json:"upload_url"` // an RFC 6570 template: …/assets{?name,label}
	PublishedAt time.Time `json:"published_at"`
	Assets      []Asset   `json:"assets"`
}

// Asset is a file attached to a release.
type Asset struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Label       string    `json:"label"`
	State       string    `json:"state"` // "uploaded" once complete
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Digest      string    `json:"digest"`               // "sha256:<hex>" on newer GitHub; may be empty
	URL         string    `json:"url"`                  // API URL: GET with Accept: application/octet-stream to download
	DownloadURL string    `json:"browser_download_url"` // public download link, outside the API rate limit
	UpdatedAt   time.Time `json:"updated_at"`
}

// Asset returns the release's asset named name, if it has one.
func (r *Release) Asset(name string) (Asset, bool) {
	for _, a := range r.Assets {
		if a.Name == name {
			return a, true
		}
	}
	return Asset{}, false
}

// Ref is a git reference.
type Ref struct {
	Ref    string `json:"ref"`
	Object struct {
		SHA  string `json:"sha"`
		Type string `json:"type"` // "commit", or "tag" for an annotated tag
	} `json:"object"`
}

// Commit is a git commit object (GET /git/commits/{sha}).
type Commit struct {
	SHA  string `json:"sha"`
	Tree struct {
		SHA string `json:"sha"`
	} `json:"tree"`
	Committer struct {
		Date time.Time `json:"date"`
	} `json:"committer"`
	Message string `json:"message"`
}

// Content is one entry of a /contents/ directory listing.
type Content struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	SHA         string `json:"sha"`
	Size        int64  `json:"size"`
	Type        string `json:"type"` // "file", "dir", "symlink" or "submodule"
	DownloadURL string `json:"download_url"`
}

// LatestRelease returns the latest published, non-prerelease release,
// conditionally: when it is unchanged since the last call, GitHub answers 304
// (free of the rate limit) and changed is false.
func (c *Client) LatestRelease(ctx context.Context) (rel *Release, changed bool, err error) {
	rel = new(Release)
	changed, err = c.getJSON(ctx, c.repoURL("releases/latest"), maxJSON, true, rel)
	return rel, changed, err
}

// latestReleaseOnce is LatestRelease without retries, for NewReleaseSource,
// whose caller (origin.WithRetry, origin.Download) retries the whole fetch:
// retries must not multiply.
func (c *Client) latestReleaseOnce(ctx context.Context) (*Release, error) {
	rel := new(Release)
	_, err := c.getJSONOnce(ctx, c.repoURL("releases/latest"), maxJSON, true, rel)
	return rel, err
}

// ReleaseByTag returns the release of a tag.
func (c *Client) ReleaseByTag(ctx context.Context, tag string) (*Release, error) {
	rel := new(Release)
	_, err := c.getJSON(ctx, c.repoURL("releases/tags/%s", url.PathEscape(tag)), maxJSON, false, rel)
	return rel, err
}

// BranchHead returns the commit SHA at the head of the configured branch,
// conditionally: changed is false when GitHub answered 304.
func (c *Client) BranchHead(ctx context.Context) (sha string, changed bool, err error) {
	var ref Ref
	changed, err = c.getJSON(ctx, c.repoURL("git/ref/heads/%s", escapePath(c.cfg.Branch)), 64<<10, true, &ref)
	if err != nil {
		return "", false, err
	}
	if !isSHA(ref.Object.SHA) || ref.Object.Type != "commit" {
		return "", false, fmt.Errorf("%w: branch %q: ref object %q of type %q", ErrProtocol, c.cfg.Branch, ref.Object.SHA, ref.Object.Type)
	}
	return ref.Object.SHA, changed, nil
}

// TagCommit returns the commit SHA a tag names, following an annotated tag.
func (c *Client) TagCommit(ctx context.Context, tag string) (string, error) {
	var ref Ref
	if _, err := c.getJSON(ctx, c.repoURL("git/ref/tags/%s", escapePath(tag)), 64<<10, false, &ref); err != nil {
		return "", err
	}
	for range 4 {
		switch {
		case !isSHA(ref.Object.SHA):
			return "", fmt.Errorf("%w: tag %q: object %q", ErrProtocol, tag, ref.Object.SHA)
		case ref.Object.Type == "commit":
			return ref.Object.SHA, nil
		case ref.Object.Type != "tag":
			return "", fmt.Errorf("%w: tag %q names a %q, not a commit", ErrProtocol, tag, ref.Object.Type)
		}
		var obj struct {
			Object struct{ SHA, Type string } `json:"object"`
		}
		if _, err := c.getJSON(ctx, c.repoURL("git/tags/%s", ref.Object.SHA), 64<<10, false, &obj); err != nil {
			return "", err
		}
		ref.Object.SHA, ref.Object.Type = obj.Object.SHA, obj.Object.Type
	}
	return "", fmt.Errorf("%w: tag %q: too many nested tags", ErrProtocol, tag)
}

// GetCommit returns the git commit object sha.
func (c *Client) GetCommit(ctx context.Context, sha string) (*Commit, error) {
	cm := new(Commit)
	if _, err := c.getJSON(ctx, c.repoURL("git/commits/%s", url.PathEscape(sha)), 1<<20, false, cm); err != nil {
		return nil, err
	}
	if !isSHA(cm.Tree.SHA) {
		return nil, fmt.Errorf("%w: commit %q: tree %q", ErrProtocol, sha, cm.Tree.SHA)
	}
	return cm, nil
}

// Contents lists a folder of the repository at ref.
func (c *Client) Contents(ctx context.Context, ref, dir string) ([]Content, error) {
	var list []Content
	u := c.repoURL("contents/%s?ref=%s", escapePath(dir), url.QueryEscape(ref))
	if _, err := c.getJSON(ctx, u, maxJSON, false, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// download GETs u with accept and follows redirects by hand (at most
// maxRedirects, never from https to http), sending the token only to the
// host of u: a pre-signed storage URL must not see it. rangeFrom > 0 asks
// for the bytes from that offset on.
func (c *Client) download(ctx context.Context, u, accept string, rangeFrom int64) (*http.Response, error) {
	first, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("github: download %q: %w", u, err)
	}
	for hop := 0; ; hop++ {
		req, err := c.newRequest(ctx, http.MethodGet, u, nil, accept)
		if err != nil {
			return nil, err
		}
		if req.URL.Host != first.Host {
			req.Header.Del("Authorization")
			req.Header.Del("X-GitHub-Api-Version")
		}
		if rangeFrom > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", rangeFrom))
		}
		resp, err := c.do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			return resp, nil
		}
		resp.Body.Close()
		if u, err = c.nextHop(req, resp, hop); err != nil {
			return nil, err
		}
	}
}

func (c *Client) nextHop(req *http.Request, resp *http.Response, hop int) (string, error) {
	loc, err := req.URL.Parse(resp.Header.Get("Location"))
	switch {
	case resp.Header.Get("Location") == "" || err != nil:
		return "", fmt.Errorf("%w: %s %q: status %q without a usable Location", ErrProtocol, req.Method, req.URL.Redacted(), resp.Status)
	case hop >= maxRedirects:
		return "", fmt.Errorf("%w: %q: more than %d redirects", ErrProtocol, req.URL.Redacted(), maxRedirects)
	case req.URL.Scheme == "https" && loc.Scheme != "https":
		return "", fmt.Errorf("%w: %q redirects from https to %q", ErrProtocol, req.URL.Redacted(), loc.Scheme)
	}
	return loc.String(), nil
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// drain discards what is left of a small body so the connection is reused.
func drain(r io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(r, 4<<10))
	r.Close()
}
