package keys

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
)

// rolloutPrefix is the file prefix of the rollout keys of channel:
// rollout-<channel>-N.key, named ferry-rollout-<channel>-N.
func rolloutPrefix(channel string) string { return "rollout-" + channel + "-" }

// AddRollout creates the next rollout key of channel
// (rollout-<channel>-N.key, role rollout:<channel>: it may sign that
// channel's rollout document only) and writes a new list as Rotate does.
// The fleet service holds this key, and no key that can publish content.
func AddRollout(dir, channel string, opt RotateOptions) (string, error) {
	if channel == "" || strings.ContainsAny(channel, " \t\r\n/\\,") {
		return "", fmt.Errorf("%w: channel %q: want a channel name without spaces, commas or slashes", ErrUsage, channel)
	}
	return addKey(dir, rolloutPrefix(channel), []string{trust.RoleRollout(channel)}, opt)
}

// RolloutSigner is what the fleet service signs a channel's rollout
// documents with.
type RolloutSigner struct {
	Channel string
	Names   []string // of the keys it signs with
	skeys   []string
}

// Sign signs text with the rollout keys.
func (s *RolloutSigner) Sign(text []byte) ([]byte, error) { return trust.Sign(text, s.skeys...) }

// LoadRollout reads the rollout keys of channel from the folder dir: it
// needs root.pub, signing-keys-2.note (verified, not expired at now) and
// rollout-<channel>-N.key files; only those the list names with role
// rollout:<channel> are used.
func LoadRollout(dir, channel string, now time.Time) (*RolloutSigner, error) {
	r := &Ring{}
	var err error
	if r.Roots, err = readRoots(dir); err != nil {
		return nil, err
	}
	l, err := r.readList(dir, now)
	if err != nil {
		return nil, fmt.Errorf("key folder %q: %w", dir, err)
	}
	skeys, vkeys, _, err := readKeyFiles(dir, rolloutPrefix(channel))
	if err != nil {
		return nil, err
	}
	s := &RolloutSigner{Channel: channel}
	for i, vkey := range vkeys {
		j := slices.IndexFunc(l.Keys, func(k trust.ListedKey) bool { return k.VKey == vkey })
		if j >= 0 && l.Keys[j].Has(trust.RoleRollout(channel)) {
			s.skeys, s.Names = append(s.skeys, skeys[i]), append(s.Names, keyName(vkey))
		}
	}
	if len(s.skeys) == 0 {
		return nil, fmt.Errorf("%w: key folder %q has no rollout key of channel %q that its signing-key list names: run `ferry keys add-rollout --keys KEYS --channel %s` and copy rollout-%s-N.key, root.pub and signing-keys-2.note to the fleet service", ErrMissing, dir, channel, channel, channel)
	}
	return s, nil
}
