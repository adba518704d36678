package github

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
)

const testToken = "ghp_testtoken_do_not_log"

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClient starts a fake GitHub over a new repository of files and
// returns a client for it (with a token), the server and the client's log.
func fakeClient(t *testing.T, files map[string]string, edit func(*config.GitHub, *Options)) (*Client, *fakegh.Server, *syncBuffer) {
	t.Helper()
	srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, files))
	return clientFor(t, srv, edit)
}

func clientFor(t *testing.T, srv *fakegh.Server, edit func(*config.GitHub, *Options)) (*Client, *fakegh.Server, *syncBuffer) {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	cfg := config.GitHub{Owner: srv.Owner, Repo: srv.Repo, APIURL: srv.URL, RawURL: srv.RawURL, TokenFile: tok}
	opts := Options{Version: "test", Logger: slog.New(slog.NewTextHandler(&log, nil))}
	if edit != nil {
		edit(&cfg, &opts)
	}
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, &log
}
