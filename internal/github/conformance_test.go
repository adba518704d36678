package github

import (
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/origintest"
)

// TestConformance runs the origin conformance suite against the stable
// channel's source: the files are assets of the latest release of a fake
// GitHub, uploaded with UploadRelease.
func TestConformance(t *testing.T) {
	t.Parallel()
	origintest.Run(t, func(t *testing.T, files map[string][]byte) origin.Source {
		srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
		dir := t.TempDir()
		origintest.WriteFiles(t, dir, files)
		assets, err := AssetsFromDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := clientFor(t, srv, nil)
		if err := c.UploadRelease(t.Context(), srv.Owner, srv.Repo, "v1", assets); err != nil {
			t.Fatal(err)
		}
		return NewReleaseSource(c)
	})
}
