package main

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/device"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/publish"
	agentupdate "github.com/ferry-ota/ferry/internal/update"
)

//go:embed all:demoapp
var demoApp embed.FS

var demoCmd = &command{name: "demo", run: runDemo, usage: `usage: ferry demo [--dir DIR]

Runs Ferry's main job on a built-in example, with nothing to set up: makes
keys, publishes two releases of a small solar-sensor app into an origin
folder, serves it on 127.0.0.1, installs release 1.0 on a device folder and
updates it to 2.0, then shows two attacks being refused. Prints each step.

flags:
  --dir DIR   work in DIR and keep it (default: a temporary folder, removed at the end)
`}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "", "")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "ferry-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	d := &demo{dir: *dir, out: e.stdout, quiet: slog.New(slog.DiscardHandler)}
	return d.run(ctx)
}

type demo struct {
	dir   string
	out   io.Writer
	quiet *slog.Logger
	step  int
	ring  *keys.Ring
	dev   *device.Device
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "%d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "     %s\n", fmt.Sprintf(format, args...))
}

func (d *demo) path(p ...string) string { return filepath.Join(append([]string{d.dir}, p...)...) }

func (d *demo) run(ctx context.Context) error {
	fmt.Fprintf(d.out, "ferry demo: publisher, origin and device in %s\n\n", d.dir)
	if err := d.keys(); err != nil {
		return err
	}
	if err := d.publish(ctx, "v1", "1.0"); err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	url, served, err := d.serve(ctx)
	if err != nil {
		return err
	}
	if err := d.device(url); err != nil {
		return err
	}
	if err := d.update(ctx, "device: ferry-agent update"); err != nil {
		return err
	}
	replay, err := os.ReadFile(d.path("origin", layout.Channel("stable")))
	if err != nil {
		return err
	}
	if err := d.publish(ctx, "v2", "2.0"); err != nil {
		return err
	}
	if err := d.update(ctx, "device: ferry-agent update"); err != nil {
		return err
	}
	if err := d.update(ctx, "device: ferry-agent update again (one conditional request, nothing written)"); err != nil {
		return err
	}
	if err := d.attacks(ctx, replay); err != nil {
		return err
	}
	stop()
	if err := <-served; err != nil {
		return err
	}
	return d.summary()
}

func (d *demo) keys() error {
	err := keys.Generate(d.path("keys"), keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: time.Now().Add(keys.DefaultBundleLifetime)})
	if err != nil {
		return err
	}
	d.ring, err = keys.Load(d.path("keys"), time.Now())
	if err != nil {
		return err
	}
	d.say("ferry keygen: an offline root key and a signing key it signs; devices pin keys/root.pub")
	return nil
}

func (d *demo) publish(ctx context.Context, src, version string) error {
	dir := d.path("src", version)
	if err := extract(src, dir); err != nil {
		return err
	}
	deltas, err := publish.NewDeltas(d.path("origin"), "stable", publish.DefaultDeltaReleases, d.ring, time.Now())
	if err != nil {
		return err
	}
	res, err := publish.Release(ctx, publish.Dir{Root: dir}, publish.Options{Origin: d.path("origin"), Channel: "stable",
		Version: version, Expires: time.Now().Add(365 * 24 * time.Hour), Keys: d.ring, Hooks: deltas.Hooks()})
	if err != nil {
		return err
	}
	d.say("ferry release --version %s: %d files, %d new blobs (%d bytes compressed), %d patches and %d update bundles from earlier releases (%d bytes), signed manifest and channel pointer (sequence %d)",
		version, res.Files, res.NewBlobs, res.NewBytes, deltas.Made, deltas.Bundles, deltas.Bytes+deltas.BundleBytes, res.Sequence)
	return nil
}

// extract writes the embedded example release src into dir; *.sh files are
// executable.
func extract(src, dir string) error {
	root := path.Join("demoapp", src)
	return fs.WalkDir(demoApp, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := demoApp.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, root+"/")))
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, mode)
	})
}

func (d *demo) serve(ctx context.Context) (string, <-chan error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, d.path("origin"), d.quiet) }()
	url := "http://" + ln.Addr().String() + "/"
	d.say("ferry serve: the origin folder on %s (any static file server would do)", url)
	return url, done, nil
}

func (d *demo) device(url string) error {
	cfgText := fmt.Sprintf("origin = %q\nchannel = \"stable\"\ntarget = \"app\"\nstate = \"state\"\nroot_keys = [%q]\n", url, d.path("keys", "root.pub"))
	cfgPath := d.path("device", "agent.toml")
	if err := os.MkdirAll(filepath.Dir(cfgPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	d.dev, err = device.New(cfg, d.quiet, "demo")
	return err
}

func (d *demo) update(ctx context.Context, what string) error {
	opt, err := d.dev.UpdateOptions()
	if err != nil {
		return err
	}
	res, err := agentupdate.Run(ctx, opt)
	if err != nil {
		return err
	}
	d.say("%s: %s", what, res)
	return nil
}

// attacks replays an old channel pointer and tampers with a blob; both must
// be refused with the device left on 2.0.
func (d *demo) attacks(ctx context.Context, oldPointer []byte) error {
	ptr := d.path("origin", layout.Channel("stable"))
	current, err := os.ReadFile(ptr)
	if err != nil {
		return err
	}
	if err := os.WriteFile(ptr, oldPointer, 0o644); err != nil {
		return err
	}
	if err := d.refused(ctx, "attack: the origin replays release 1.0's signed channel pointer", agentupdate.ErrRollback); err != nil {
		return err
	}
	if err := os.WriteFile(ptr, current, 0o644); err != nil {
		return err
	}
	// Release 2.1 changes one file; its blob is then replaced on the origin.
	conf := d.path("src", "2.0", "config.toml")
	data, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	data = []byte(strings.Replace(string(data), "interval_sec = 900", "interval_sec = 1200", 1))
	if err := os.WriteFile(conf, data, 0o644); err != nil {
		return err
	}
	res, err := publish.Release(ctx, publish.Dir{Root: d.path("src", "2.0")}, publish.Options{Origin: d.path("origin"), Channel: "stable",
		Version: "2.1", Expires: time.Now().Add(365 * 24 * time.Hour), Keys: d.ring})
	if err != nil {
		return err
	}
	d.say("ferry release --version 2.1: %d new blob (config.toml changed)", res.NewBlobs)
	blob := d.path("origin", filepath.FromSlash(layout.Blob(sha256.Sum256(data))))
	if err := os.WriteFile(blob, []byte("not what was signed"), 0o644); err != nil {
		return err
	}
	return d.refused(ctx, "attack: release 2.1's blob is replaced on the origin", install.ErrChecksum)
}

func (d *demo) refused(ctx context.Context, what string, want error) error {
	opt, err := d.dev.UpdateOptions()
	if err != nil {
		return err
	}
	if err := d.breakPoll(); err != nil {
		return err
	}
	_, err = agentupdate.Run(ctx, opt)
	if err == nil || (want != nil && !errors.Is(err, want)) {
		return fmt.Errorf("demo: %s was not refused as expected: %v", what, err)
	}
	d.say("%s\n     refused: %v", what, err)
	if rec, _ := d.dev.Installer.Installed(); rec != nil {
		d.detail("the device still holds %s, untouched", rec.Version)
	}
	return nil
}

// breakPoll forgets the cached pointer, so that the next poll fetches
// everything as a fresh device would, and meets the attack.
func (d *demo) breakPoll() error {
	err := os.Remove(filepath.Join(d.dev.Config.State, "poll.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d *demo) summary() error {
	rec, err := d.dev.Installer.Installed()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nthe device holds %s (sequence %d); its files:\n", rec.Version, rec.Sequence)
	return filepath.WalkDir(d.dev.Config.Target, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.dev.Config.Target, p)
		fmt.Fprintf(d.out, "  %v %6d  %s\n", fi.Mode().Perm(), fi.Size(), filepath.ToSlash(rel))
		return nil
	})
}
