package device

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/origin"
)

// TestGitHubBound: with [[transport]] links, the [github] client's
// connections are bound to the cycle's link as an http(s) origin's are:
// bound to an interface that does not exist, no request reaches the API and
// the error names the interface; bound to lo, the request gets there.
// Binding needs root or CAP_NET_RAW.
func TestGitHubBound(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_BINDTODEVICE needs root or CAP_NET_RAW: run as root to test binding")
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.NotFound(w, nil)
	}))
	defer srv.Close()
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	if err := keys.Generate(keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(keyDir, "root.pub")
	toml := fmt.Sprintf("target = %q\nstate = %q\nroot_keys = [%q]\nhttp_retries = 0\n"+
		"[github]\nowner = \"acme\"\nrepo = \"app\"\napi_url = %q\n"+
		"[[transport]]\nname = \"wired\"\nkind = \"ethernet\"\ninterface = \"lo\"\n",
		filepath.Join(dir, "app"), filepath.Join(dir, "state"), root, srv.URL)
	d, opt := openDevice(t, toml, dir)
	if d.Binder == nil {
		t.Fatal("a [github] config with [[transport]] links has no Binder")
	}
	fetch := func() error {
		obj, err := opt.Source.Fetch(context.Background(), origin.Request{Path: "channels/stable.note", MaxSize: 1 << 16})
		if err == nil {
			obj.Body.Close()
		}
		return err
	}
	d.Binder.Set("ferrynope0")
	if err := fetch(); err == nil || !strings.Contains(err.Error(), `"ferrynope0"`) {
		t.Fatalf("bound to a missing interface: %v, want an error naming it", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("bound to a missing interface, the API got %d requests", n)
	}
	d.Binder.Set("lo")
	fetch() // the fake API answers 404: only the request's arrival matters
	if hits.Load() == 0 {
		t.Fatal("bound to lo, no request reached the API")
	}
}
