package server

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/pgtest"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

// BenchmarkIngest measures reports ingested per second by one instance:
// HTTP, signature check, device lookup and the stored report, with 16
// devices sending at once from 1,000 enrolled devices.
//
//	go test -run '^$' -bench . ./internal/fleet/...
func BenchmarkIngest(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchIngest(b, filepath.Join(b.TempDir(), "fleet.db")) })
	b.Run("postgres", func(b *testing.B) { benchIngest(b, pgtest.Start(b)) })
}

func benchIngest(b *testing.B, dsn string) {
	st, err := store.Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const devices = 1000
	keys := make([]ed25519.PrivateKey, devices)
	for i := range keys {
		keys[i] = ed25519.NewKeyFromSeed(append(bytes.Repeat([]byte{1}, 28), byte(i>>24), byte(i>>16), byte(i>>8), byte(i)))
		if err := st.Enroll(b.Context(), fmt.Sprintf("dev-%04d", i), keys[i].Public().(ed25519.PublicKey), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		r := &report.Report{Device: fmt.Sprintf("dev-%04d", i%devices), Number: uint64(i/devices + 1), Time: time.Now(),
			Channel: "stable", Version: "v1.4.2", Sequence: 12, Outcome: report.UpToDate, Bytes: 311, DurationMS: 420}
		if bodies[i], err = report.Sign(r, keys[i%devices]); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(New(Config{Store: st}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.SetParallelism(8) // 8 x GOMAXPROCS senders
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			resp, err := client.Post(srv.URL+"/v1/reports", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
