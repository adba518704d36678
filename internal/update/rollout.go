package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
)

// RolloutFile is the state file that caches the channel's rollout document
// (verified when it was stored) and its ETag, so that a poll whose
// document has not changed costs one body-less 304.
const RolloutFile = "rollout.json"

// rolloutCache is <state>/rollout.json.
type rolloutCache struct {
	ETag string `json:"etag,omitempty"`
	Doc  string `json:"doc,omitempty"` // the verified signed note
}

// rolloutGate applies the channel's rollout document to a pointer that
// says the fleet service governs its stage (header rollout-doc 1): it
// returns the pointer to admit, with the document's percentage, or why the
// release is not taken now. A missing, expired, untrusted or mismatched
// document defers (fail safe: never take); a halted release is not taken.
// keys is fetched when the document changed and *keys is nil.
func (o *Options) rolloutGate(ctx context.Context, st *pollState, ptr *manifest.Pointer, keys **trust.KeyList) (*manifest.Pointer, string, error) {
	if !ptr.RolloutDoc {
		return ptr, "", nil
	}
	doc, why, err := o.rolloutDoc(ctx, st, keys)
	if err != nil || why != "" {
		return nil, why, err
	}
	path := layout.RolloutDoc(o.Channel)
	switch {
	case doc.Channel != o.Channel || doc.Manifest != ptr.Manifest || doc.Version != ptr.Version:
		return nil, fmt.Sprintf("rollout document %s names %s %s, the channel offers %s: waiting for the fleet service", path, doc.Channel, doc.Version, ptr.Version), nil
	case o.now().After(doc.Expires):
		return nil, fmt.Sprintf("rollout document %s expired %s: waiting for the fleet service", path, doc.Expires.Format(time.RFC3339)), nil
	case doc.Halted:
		return nil, fmt.Sprintf("halted by the fleet: %s", doc.Reason), nil
	}
	p := *ptr
	p.Rollout = doc.Percent
	return &p, "", nil
}

// rolloutDoc fetches the channel's rollout document conditionally and
// verifies a new one with the keys of role rollout:<channel>. A document
// issued before the cached one (a replay) is ignored for the cached one.
func (o *Options) rolloutDoc(ctx context.Context, st *pollState, keys **trust.KeyList) (*manifest.RolloutDoc, string, error) {
	path := layout.RolloutDoc(o.Channel)
	cache, err := loadRolloutCache(o.Installer)
	if err != nil {
		return nil, "", err
	}
	var cached *manifest.RolloutDoc
	if cache.Doc != "" {
		if text, err := trust.NoteText([]byte(cache.Doc)); err == nil {
			cached, _ = manifest.ParseRolloutDoc(text)
		}
	}
	req := origin.Request{Path: path, MaxSize: trust.MaxNoteSize}
	if cached != nil {
		req.ETag = cache.ETag
	}
	data, etag, err := o.fetchSmall(ctx, req)
	if errors.Is(err, origin.ErrChanged) {
		// The service replaced the document while a cut transfer resumed:
		// the new one is what to read.
		data, etag, err = o.fetchSmall(ctx, req)
	}
	switch {
	case errors.Is(err, origin.ErrNotModified) && cached != nil:
		return cached, "", nil
	case errors.Is(err, origin.ErrNotFound):
		return nil, fmt.Sprintf("no rollout document %s: waiting for the fleet service", path), nil
	case err != nil:
		return nil, "", fmt.Errorf("fetch rollout document %s: %w", path, err)
	}
	if *keys == nil {
		if *keys, err = o.signingKeys(ctx, st); err != nil {
			return nil, "", err
		}
	}
	text, err := (*keys).Verifiers(trust.RoleRollout(o.Channel)).Open(data)
	if err != nil {
		return nil, fmt.Sprintf("rollout document %s refused: %v", path, err), nil
	}
	doc, err := manifest.ParseRolloutDoc(text)
	if err != nil {
		return nil, fmt.Sprintf("rollout document %s refused: %v", path, err), nil
	}
	if cached != nil && cached.Manifest == doc.Manifest && doc.Issued.Before(cached.Issued) {
		o.log().Warn("ignoring a rollout document older than the one held", "issued", doc.Issued, "held", cached.Issued)
		return cached, "", nil
	}
	return doc, "", saveRolloutCache(o.Installer, rolloutCache{ETag: etag, Doc: string(data)})
}

func loadRolloutCache(in *install.Installer) (rolloutCache, error) {
	var c rolloutCache
	data, err := install.ReadSmallFile(in.FS, filepath.Join(in.State, RolloutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if json.Unmarshal(data, &c) != nil {
		return rolloutCache{}, nil // a cache: start afresh
	}
	return c, nil
}

func saveRolloutCache(in *install.Installer, c rolloutCache) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return install.WriteFileAtomic(in.FS, filepath.Join(in.State, RolloutFile), append(data, '\n'))
}
