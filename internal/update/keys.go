package update

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
)

// pointerKeys returns the verified signing-key list to check the pointer
// note with. The note is not verified yet: its "keys" line is read only to
// decide whether the list poll.json holds is the one the pointer names. If
// it is, no request is made, and the held copy is verified against the root
// keys and the trusted record all the same (expiry included); otherwise
// (another list, or a pointer that names none) the list is fetched.
// checkNamedKeys then refuses the verified pointer if the list that
// verified it is not the one it names.
func (o *Options) pointerKeys(ctx context.Context, st *pollState, note []byte) (*trust.KeyList, error) {
	named := unverifiedKeysRef(note)
	if named.Version > 0 && st.KeysFile == layout.SigningKeys2 && sha256.Sum256([]byte(st.Keys)) == named.SHA256 {
		held, err := loadTrusted(o.Installer)
		if err != nil {
			return nil, err
		}
		return o.openKeyList(st, held, layout.SigningKeys2, []byte(st.Keys), st.KeysETag)
	}
	return o.signingKeys(ctx, st)
}

// unverifiedKeysRef reads the "keys" line of a pointer note without
// verifying it (the zero KeysRef if there is none or the note is malformed:
// then the list is fetched as before, and the pointer's own check fails).
func unverifiedKeysRef(note []byte) manifest.KeysRef {
	text, err := trust.NoteText(note)
	if err != nil {
		return manifest.KeysRef{}
	}
	p, err := manifest.ParsePointer(text)
	if err != nil {
		return manifest.KeysRef{}
	}
	return p.Keys
}

// checkNamedKeys refuses a verified pointer that names a signing-key list
// other than the one that verified it (poll.json's, recorded by
// openKeyList): a pointer signed under a list the device did not use.
func (o *Options) checkNamedKeys(p *manifest.Pointer, st *pollState) error {
	if p.Keys == (manifest.KeysRef{}) {
		return nil
	}
	if st.KeysFile != layout.SigningKeys2 || sha256.Sum256([]byte(st.Keys)) != p.Keys.SHA256 {
		return fmt.Errorf("%w: %s names signing-key list version %d (sha256 %s), but %s verified it: the origin serves a list other than the one the pointer was signed under (a stale cache?)",
			ErrMismatch, layout.Channel(o.Channel), p.Keys.Version, p.Keys.SHA256, st.keysName())
	}
	return nil
}

// keysName says which list poll.json holds, for errors.
func (st *pollState) keysName() string {
	if st.KeysFile != layout.SigningKeys2 {
		return "the format-1 list " + layout.SigningKeys
	}
	return fmt.Sprintf("a list with sha256 %x", sha256.Sum256([]byte(st.Keys)))
}

// signingKeys fetches the signing-key list conditionally: a cached copy
// (in poll.json) costs a body-less 304 when it has not changed, and is
// verified against the root keys, expiry included, every time all the same.
// The format-2 list is fetched; format 1 only when the origin has no
// format-2 list and the device never verified one. A list older than the
// one trusted before is refused; a newer one is recorded (trusted.go).
func (o *Options) signingKeys(ctx context.Context, st *pollState) (*trust.KeyList, error) {
	held, err := loadTrusted(o.Installer)
	if err != nil {
		return nil, err
	}
	path := layout.SigningKeys2
	data, etag, err := o.fetchKeys(ctx, st, path)
	if errors.Is(err, origin.ErrNotFound) {
		if held.Version > 0 {
			return nil, fmt.Errorf("%w: the origin has no %s, and this device already trusts signing-key list version %d: the publisher must put the newest list back", trust.ErrRollback, path, held.Version)
		}
		path = layout.SigningKeys
		data, etag, err = o.fetchKeys(ctx, st, path)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch signing keys %s: %w", path, err)
	}
	return o.openKeyList(st, held, path, data, etag)
}

// openKeyList verifies a signing-key list (fetched from path, or the copy
// poll.json holds) against the root keys and the trusted record, records a
// newer format-2 list, and keeps the list in poll.json.
func (o *Options) openKeyList(st *pollState, held trust.Trusted, path string, data []byte, etag string) (*trust.KeyList, error) {
	l, err := o.Roots.OpenKeyList(data, o.now())
	if err == nil && (l.Format == 2) != (path == layout.SigningKeys2) {
		err = fmt.Errorf("%w: a format-%d list", trust.ErrFormat, l.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is root_keys the root.pub of this origin's publisher?)", path, err)
	}
	if err := l.Check(held); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if l.Format == 2 && l.Version > held.Version {
		if err := saveTrusted(o.Installer, l.Trusted()); err != nil {
			return nil, err
		}
		o.log().Info("trusting a new signing-key list", "version", l.Version, "was", held.Version)
	}
	st.Keys, st.KeysETag, st.KeysFile = string(data), etag, path
	return l, nil
}

// fetchKeys fetches a signing-key list, conditionally when poll.json holds
// a copy of the one at path.
func (o *Options) fetchKeys(ctx context.Context, st *pollState, path string) ([]byte, string, error) {
	req := origin.Request{Path: path, MaxSize: trust.MaxNoteSize}
	cached := st.KeysFile
	if cached == "" {
		cached = layout.SigningKeys // poll.json of an agent before format 2
	}
	if st.Keys != "" && cached == path {
		req.ETag = st.KeysETag
	}
	data, etag, err := o.fetchSmall(ctx, req)
	if errors.Is(err, origin.ErrNotModified) && cached == path {
		return []byte(st.Keys), st.KeysETag, nil
	}
	return data, etag, err
}
