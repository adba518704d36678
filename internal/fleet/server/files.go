package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// tokenPrefix starts every enrollment token, so that one is recognisable.
const tokenPrefix = "ferry-fleet-"

// NewToken returns a new random enrollment token.
func NewToken() string {
	return tokenPrefix + rand.Text() + rand.Text()
}

// LoadTokens reads a token file: one token a line; blank lines and lines
// starting with '#' are skipped. It needs at least one token.
func LoadTokens(path string) ([]string, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	for i, l := range lines {
		if len(l.text) < 16 || strings.ContainsAny(l.text, " \t") {
			return nil, fmt.Errorf("%s:%d: a token is one word of at least 16 characters: make one with `ferry fleet token`", path, lines[i].n)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no token: put the output of `ferry fleet token` in it", path)
	}
	toks := make([]string, len(lines))
	for i, l := range lines {
		toks[i] = l.text
	}
	return toks, nil
}

// LoadAllowList reads an allow-list: one device public key a line, in
// base64 as the agent writes it to <state>/fleet.pub; blank lines and lines
// starting with '#' are skipped.
func LoadAllowList(path string) ([][]byte, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for _, l := range lines {
		k, err := base64.StdEncoding.DecodeString(l.text)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s:%d: want a base64 Ed25519 public key (the content of a device's <state>/fleet.pub)", path, l.n)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

type line struct {
	n    int
	text string
}

func readLines(path string) ([]line, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, line{n: n, text: t})
		}
	}
	return out, sc.Err()
}

// Serve serves h on ln until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("fleet service listening", "url", "http://"+ln.Addr().String()+"/")
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
