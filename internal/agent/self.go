package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/selfupdate"
	"github.com/ferry-ota/ferry/internal/update"
)

// UpdateSelf swaps in the agent binary the installed release carries for
// this device's target, when its version differs from the running agent's
// (see package selfupdate). It runs after the application's update, never
// during its trial, so the application's release is settled whatever
// becomes of the agent's. It returns the new agent's version, or "" when
// the binary did not change.
func (a *Agent) UpdateSelf(ctx context.Context) (string, error) {
	if a.self == nil {
		return "", nil
	}
	unlock, err := a.dev.Lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	rec, err := a.in.Installed()
	if err != nil || rec == nil || rec.Trial {
		return "", err
	}
	// The header names the agents: the file list (50,000 files are about
	// 5 MiB of text, 6 MiB parsed) is not even read.
	m, err := a.in.ManifestHeader(rec.Manifest)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the installed manifest: %w", err)
	}
	if err != nil {
		return "", fmt.Errorf("installed manifest %s: %w", rec.Version, err)
	}
	ag, ok := m.Agent(selfupdate.Target())
	if !ok {
		return "", nil
	}
	fetch := func(ctx context.Context, out install.Sink) error {
		_, err := update.FetchAgent(ctx, a.opt, ag, out)
		return err
	}
	done, err := a.self.Update(ctx, ag, fetch)
	if err != nil {
		a.note(healthlog.Entry{Kind: healthlog.KindError, Version: ag.Version, Message: "agent self-update: " + err.Error()})
		return "", err
	}
	if !done {
		return "", nil
	}
	msg := fmt.Sprintf("agent updated %s -> %s", a.self.Version, ag.Version)
	a.log.Info(msg)
	a.note(healthlog.Entry{Kind: healthlog.KindUpdate, Version: ag.Version, Message: msg})
	return ag.Version, nil
}
