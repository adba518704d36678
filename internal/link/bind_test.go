package link

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestBinder: bound to lo, a request to 127.0.0.1 goes through; bound to an
// interface that does not exist, it fails naming the interface; unbound,
// nothing changes. Binding needs root or CAP_NET_RAW.
func TestBinder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_BINDTODEVICE needs root or CAP_NET_RAW: run as root to test binding")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	b := &Binder{}
	client := &http.Client{Transport: b.Transport()}
	get := func() error {
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("unbound: %v", err)
	}
	b.Set("lo")
	if err := get(); err != nil {
		t.Fatalf("bound to lo: %v", err)
	}
	b.Set("ferrynope0")
	if err := get(); err == nil || !strings.Contains(err.Error(), `"ferrynope0"`) {
		t.Fatalf("bound to a missing interface: %v", err)
	}
}

func TestLocalResolver(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{"127.0.0.53:53": true, "[::1]:53": true, "10.0.0.1:53": false, "8.8.8.8:53": false, "bogus": false} {
		if got := localResolver(addr); got != want {
			t.Errorf("localResolver(%q) = %v, want %v", addr, got, want)
		}
	}
}
