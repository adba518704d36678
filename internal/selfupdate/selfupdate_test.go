package selfupdate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

const (
	exe   = "/usr/bin/ferry-agent"
	state = "/var/lib/ferry"
)

var (
	oldBin = bytes.Repeat([]byte("old agent "), 300)
	newBin = bytes.Repeat([]byte("new agent!"), 400)
	agent  = manifest.Agent{Target: "linux-amd64", Version: "2.0", Size: int64(len(newBin)), SHA256: sha256.Sum256(newBin)}
)

func fetchOf(data []byte) Fetch {
	return func(ctx context.Context, out install.Sink) error {
		w, err := out()
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
}

// brokenAt: "" (a good agent), "staged" (exits at once: fails the first
// check) or "exe" (passes as the staged file, fails once swapped in).
func updater(fsys vfs.FS, brokenAt string) *Updater {
	m := fsys.(*vfs.MemFS)
	return &Updater{FS: fsys, Exe: exe, State: state, Version: "1.0",
		Check: func(ctx context.Context, path, want string) error {
			data, err := m.ReadFile(path)
			switch {
			case err != nil:
				return err
			case !bytes.Equal(data, newBin) || want != "2.0":
				return fmt.Errorf("%s is not agent %s", path, want)
			case brokenAt == "staged", brokenAt == "exe" && path == exe:
				return errors.New("exit status 2 at once")
			}
			return nil
		}}
}

func device(t *testing.T) *vfs.MemFS {
	t.Helper()
	m := vfs.NewMemFS()
	if err := m.WriteFile(exe, oldBin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	return m
}

// binaryProblem says how the device's binary is not exactly want (or
// either binary, for want nil), or leftovers of a swap remain.
func binaryProblem(m *vfs.MemFS, want []byte) string {
	data, err := m.ReadFile(exe)
	fi, serr := m.Stat(exe)
	switch {
	case err != nil || serr != nil:
		return fmt.Sprintf("no binary: %v %v", err, serr)
	case fi.Mode().Perm() != 0o755:
		return fmt.Sprintf("binary mode %v", fi.Mode())
	case want != nil && !bytes.Equal(data, want), want == nil && !bytes.Equal(data, oldBin) && !bytes.Equal(data, newBin):
		return fmt.Sprintf("binary is neither whole binary: %d bytes %.20q", len(data), data)
	}
	for _, p := range []string{exe + ".ferry-new", exe + ".ferry-prev", state + "/agent-swap.json"} {
		if _, err := m.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("%s left behind (%v)", p, err)
		}
	}
	return ""
}

func TestUpdateSwapsAndSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := device(t)
	u := updater(m, "")
	if ok, err := u.Update(ctx, manifest.Agent{Version: "1.0"}, fetchOf(oldBin)); ok || err != nil {
		t.Fatalf("same version: %v, %v; want nothing done", ok, err)
	}
	bad := agent
	bad.SHA256[0] ^= 1
	if ok, err := u.Update(ctx, bad, fetchOf(newBin)); ok || !errors.Is(err, install.ErrChecksum) {
		t.Fatalf("wrong content: %v, %v; want ErrChecksum", ok, err)
	}
	if p := binaryProblem(m, oldBin); p != "" {
		t.Fatalf("after a refused download: %s", p)
	}
	if ok, err := u.Update(ctx, agent, fetchOf(newBin)); !ok || err != nil {
		t.Fatalf("update: %v, %v", ok, err)
	}
	if p := binaryProblem(m, newBin); p != "" {
		t.Fatal(p)
	}
}

func TestUnwritableFolderCostsNoDownload(t *testing.T) {
	t.Parallel()
	m := device(t)
	u := updater(m, "")
	u.Exe = "/ro/bin/ferry-agent" // its folder does not exist: Create fails as on a read-only one
	fetched := false
	_, err := u.Update(context.Background(), agent, func(ctx context.Context, out install.Sink) error { fetched = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "not writable") || fetched {
		t.Fatalf("update into an unwritable folder: %v (fetched %v); want a refusal before the download", err, fetched)
	}
}

func TestBrokenAgentIsRolledBackAndNotRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, at := range []string{"staged", "exe"} {
		m := device(t)
		u := updater(m, at)
		ok, err := u.Update(ctx, agent, fetchOf(newBin))
		if ok || !errors.Is(err, ErrBroken) {
			t.Fatalf("broken at %s: %v, %v; want ErrBroken", at, ok, err)
		}
		if p := binaryProblem(m, oldBin); p != "" {
			t.Fatalf("broken at %s: %s", at, p)
		}
		fetched := false
		ok, err = u.Update(ctx, agent, func(ctx context.Context, out install.Sink) error { fetched = true; return nil })
		if ok || err != nil || fetched {
			t.Fatalf("broken at %s: the failed version was tried again (%v, %v, fetched %v)", at, ok, err, fetched)
		}
		if list, _ := u.FailedVersions(); len(list) != 1 || list[0].Version != "2.0" {
			t.Fatalf("failed versions: %+v", list)
		}
	}
}

// TestPowerCutSelfUpdate cuts the power at every operation of the swap,
// under three disk models, recovers (cutting the power at every operation
// of the recovery too), and checks that the binary is exactly the old or
// the new one with nothing left behind; then the update is run again.
func TestPowerCutSelfUpdate(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"", "staged", "exe"} {
		t.Run("broken at "+at, func(t *testing.T) {
			t.Parallel()
			final := newBin
			if at != "" {
				final = oldBin
			}
			base := device(t)
			dry := base.Clone()
			updater(dry, at).Update(context.Background(), agent, fetchOf(newBin))
			total := dry.Ops()
			dry.Crash(vfs.DropUnsynced)
			if p := binaryProblem(dry, final); p != "" {
				t.Fatalf("power cut right after the update returned: %s", p)
			}
			points := 0
			for k := 1; k <= total; k++ {
				for _, mode := range []vfs.CrashMode{vfs.DropUnsynced, vfs.KeepAll, vfs.KeepRandom(uint32(k))} {
					m := base.Clone()
					m.SetPowerCutAt(k)
					updater(m, at).Update(context.Background(), agent, fetchOf(newBin))
					if !m.PoweredOff() {
						t.Fatalf("op %d/%d: the update ended before the cut", k, total)
					}
					m.Crash(mode)
					where := fmt.Sprintf("power cut at op %d/%d, %v", k, total, mode)
					crashRecover(t, m, where)
					if err := updater(m, at).Recover(); err != nil {
						t.Fatalf("%s: recover: %v", where, err)
					}
					if p := binaryProblem(m, nil); p != "" {
						t.Fatalf("%s, after recovery: %s", where, p)
					}
					updater(m, at).Update(context.Background(), agent, fetchOf(newBin))
					if p := binaryProblem(m, final); p != "" {
						t.Fatalf("%s, after updating again: %s", where, p)
					}
					points++
				}
			}
			t.Logf("%d operations, %d crash points: the binary was always whole", total, points)
		})
	}
}

// crashRecover cuts the power at every operation of Recover on m.
func crashRecover(t *testing.T, m *vfs.MemFS, where string) {
	t.Helper()
	dry := m.Clone()
	if err := updater(dry, "").Recover(); err != nil {
		t.Fatalf("%s: recover: %v", where, err)
	}
	for j := 1; j <= dry.Ops(); j++ {
		c := m.Clone()
		c.SetPowerCutAt(j)
		updater(c, "").Recover()
		c.Crash(vfs.DropUnsynced)
		if err := updater(c, "").Recover(); err != nil {
			t.Fatalf("%s; cut in recovery at op %d: %v", where, j, err)
		}
		if p := binaryProblem(c, nil); p != "" {
			t.Fatalf("%s; cut in recovery at op %d: %s", where, j, p)
		}
	}
}
