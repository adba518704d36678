package link

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
)

// State is what the agent knows of one link at one moment.
type State struct {
	Name   string
	Up     bool
	Why    string // why it is down: "interface wlan0 not found"
	Signal string // "CSQ 17 (-79 dBm)", "" when unknown
}

// Prober tells whether a link is up now.
type Prober interface {
	Probe(ctx context.Context, t config.Transport) State
}

// Interfaces is the Prober of the operating system's network interfaces.
type Interfaces struct{}

// Probe reports t up when its interface exists, is up and has an address
// other than a link-local one.
func (Interfaces) Probe(_ context.Context, t config.Transport) State {
	s := State{Name: t.Name}
	ifi, err := net.InterfaceByName(t.Interface)
	if err != nil {
		s.Why = fmt.Sprintf("interface %s not found", t.Interface)
		return s
	}
	if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagRunning == 0 {
		s.Why = fmt.Sprintf("interface %s is down", t.Interface)
		return s
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		s.Why = fmt.Sprintf("interface %s: %v", t.Interface, err)
		return s
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && !ip.IP.IsLinkLocalUnicast() && !ip.IP.IsLoopback() {
			s.Up = true
			return s
		}
	}
	s.Why = fmt.Sprintf("interface %s has no address", t.Interface)
	return s
}

// pollEvery is how often a link that is down is probed again while the
// agent waits for it.
const pollEvery = 250 * time.Millisecond

// WaitUp probes t until it is up or its up_timeout_sec has passed.
func WaitUp(ctx context.Context, p Prober, t config.Transport, sleep func(context.Context, time.Duration) error) State {
	deadline := t.UpTimeout()
	var waited time.Duration
	for {
		s := p.Probe(ctx, t)
		if s.Up || waited >= deadline || ctx.Err() != nil {
			if !s.Up && deadline > 0 {
				s.Why += fmt.Sprintf(" (waited %s)", deadline)
			}
			return s
		}
		if sleep(ctx, pollEvery) != nil {
			return s
		}
		waited += pollEvery
	}
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
