package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/server"
)

func TestFleetTokenAndServe(t *testing.T) {
	var out, errb bytes.Buffer
	if code := ferryMain(t.Context(), []string{"fleet", "token"}, &out, &errb); code != 0 {
		t.Fatalf("fleet token: %d %s", code, errb.String())
	}
	tok := strings.TrimSpace(out.String())
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokFile, []byte("# the fleet's token\n"+tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- ferryMain(ctx, []string{"fleet", "serve", "--addr", addr, "--db", filepath.Join(dir, "fleet.db"), "--token-file", tokFile}, &out, &errb)
	}()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	body, err := report.Sign(&report.Report{Device: "d1", Number: 1, Time: time.Now(), Outcome: report.UpToDate}, key)
	if err != nil {
		t.Fatal(err)
	}
	code := postRetry(t, "http://"+addr+"/v1/reports", body, tok)
	cancel()
	if code != http.StatusCreated {
		t.Errorf("report to ferry fleet serve: %d, want 201", code)
	}
	if c := <-done; c != 0 {
		t.Errorf("fleet serve exit code %d: %s", c, errb.String())
	}
	db := filepath.Join(dir, "fleet.db")
	if code, out, errOut := runFerry(t, "fleet", "forget", "--db", db, "d1"); code != 0 || !strings.Contains(out, "device d1: key forgotten") {
		t.Errorf("fleet forget d1: exit %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runFerry(t, "fleet", "forget", "--db", db, "nope"); code != 1 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("fleet forget of an unknown device: exit %d %s", code, errOut)
	}
}

// postRetry posts until the server listens (it starts in a goroutine).
func postRetry(t *testing.T, url string, body []byte, tok string) int {
	for range 100 {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set(server.TokenHeader, tok)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("ferry fleet serve did not answer")
	return 0
}

func TestFleetUsage(t *testing.T) {
	for _, args := range [][]string{{"fleet"}, {"fleet", "serve", "--db", "x.db"}, {"fleet", "serve", "--token-file", "t"}, {"fleet", "nope"}, {"fleet", "forget", "--db", "x.db"}, {"fleet", "forget", "d1"}} {
		var out, errb bytes.Buffer
		if code := ferryMain(t.Context(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}
