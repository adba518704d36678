package github

import (
	"encoding/json"
	"os"

	"github.com/ferry-ota/ferry/internal/atomicfile"
)

// The conditional-request cache (ETag and body of the latest release and
// of the branch ref) is kept in Options.CacheFile, so that a device polling
// from cron, one process per poll, still polls with one 304 that GitHub does
// not charge to the rate limit. It is a cache: unreadable means empty.

type cacheEntry struct {
	ETag string `json:"etag"`
	Body []byte `json:"body"`
}

func (c *Client) loadCache() {
	if c.cacheFile == "" {
		return
	}
	data, err := os.ReadFile(c.cacheFile)
	if err != nil {
		return
	}
	var m map[string]cacheEntry
	if json.Unmarshal(data, &m) != nil {
		return
	}
	for u, e := range m {
		c.etags[u] = cached{etag: e.ETag, body: e.Body}
	}
}

// saveCache writes the cache if it changed; c.mu must be held. A failure
// only costs a full answer at the next poll, so it is logged, not returned.
func (c *Client) saveCache() {
	if c.cacheFile == "" {
		return
	}
	m := make(map[string]cacheEntry, len(c.etags))
	for u, e := range c.etags {
		m[u] = cacheEntry{ETag: e.etag, Body: e.body}
	}
	data, err := json.Marshal(m)
	if err == nil {
		_, err = atomicfile.WriteIfChanged(c.cacheFile, data, 0o600)
	}
	if err != nil {
		c.log.Warn("github: cannot keep the request cache", "file", c.cacheFile, "err", err)
	}
}
