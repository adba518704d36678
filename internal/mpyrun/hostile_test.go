package mpyrun

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hostileResponses are raw responses a hostile or broken origin may send:
// hand-made ones, then random mutations of a good one (fixed seed).
func hostileResponses() []string {
	good := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\nContent-Range: bytes 0-4/5\r\nRetry-After: 3\r\n\r\nhello"
	out := []string{
		good,
		"",
		"garbage\r\n\r\n",
		"HTTP/1.1\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\nETag: \xff\xfe\x80\r\n\r\n",
		"HTTP/1.1 200 OK\r\n" + strings.Repeat("X", 5000) + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n",
		"HTTP/1.1 206 Partial\r\nContent-Range: bytes x-y/z\r\n\r\n",
		"HTTP/1.1 206 Partial\r\nContent-Range: bytes\r\n\r\n",
		"HTTP/1.1 503 No\r\nRetry-After: Mon, 99 Foo 2026 99:99:99 GMT\r\nDate: nonsense\r\n\r\n",
		"HTTP/1.1 503 No\r\nRetry-After: -7\r\n\r\n",
		"HTTP/1.1 302 Found\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: ftp://elsewhere/\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:notaport/\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("y", 3000),
	}
	r := rand.New(rand.NewPCG(14, 14))
	for i := 0; i < 300; i++ {
		b := []byte(good)
		for k := 1 + r.IntN(4); k > 0; k-- {
			switch p := r.IntN(len(b)); r.IntN(3) {
			case 0:
				b[p] = byte(r.IntN(256))
			case 1:
				b = append(b[:p], b[p+1:]...)
			default:
				b = append(b[:p], append([]byte{"\r\n: -/0123456789"[r.IntN(16)]}, b[p:]...)...)
			}
		}
		out = append(out, string(b))
	}
	return out
}

// TestHTTPHostileResponses runs micropython/tests/http_hostile.py: every
// malformed or mutated response makes ferry/http.py either succeed or fail
// with HTTPError or OSError, never another exception (a crash on a board).
func TestHTTPHostileResponses(t *testing.T) {
	r := Need(t)
	resp := hostileResponses()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				line, _ := br.ReadString('\n')
				for { // read the whole request, so that closing sends no reset
					h, err := br.ReadString('\n')
					if err != nil || h == "\r\n" {
						break
					}
				}
				f := strings.Fields(line)
				if len(f) < 2 {
					return
				}
				i, err := strconv.Atoi(strings.TrimPrefix(f[1], "/"))
				if err == nil && i >= 0 && i < len(resp) {
					c.Write([]byte(resp[i]))
				}
			}()
		}
	}()
	file := filepath.Join(r.Root, "micropython", "tests", "http_hostile.py")
	res := r.Exec(t, 0, file, "http://"+ln.Addr().String(), fmt.Sprint(len(resp)))
	if res.Code != 0 || !strings.Contains(res.Stdout, "http_hostile ok") {
		t.Fatalf("http_hostile.py: %s", res)
	}
	t.Log(strings.TrimSpace(res.Stdout))
}
