package manifest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors returned by this package. Callers branch on them with errors.Is.
var (
	ErrFormat   = errors.New("manifest: malformed")
	ErrVersion  = errors.New("manifest: unsupported format version")
	ErrPath     = errors.New("manifest: invalid path")
	ErrTooLarge = errors.New("manifest: over the configured limit")
)

const (
	manifestMagic = "ferry-manifest"
	pointerMagic  = "ferry-channel"
	formatVersion = 1
)

// Limits caps what a parser accepts, so that a hostile document cannot make a
// device allocate without bound. The zero value means DefaultLimits.
type Limits struct {
	MaxFiles     int   // entries in one manifest
	MaxFileSize  int64 // bytes of one file's content
	MaxTotalSize int64 // bytes of all files' content together
}

// DefaultLimits suit a Linux-class device: an application of a few thousand
// files and a few hundred MiB passes untouched.
var DefaultLimits = Limits{MaxFiles: 100_000, MaxFileSize: 4 << 30, MaxTotalSize: 16 << 30}

func (l Limits) orDefault() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultLimits.MaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultLimits.MaxTotalSize
	}
	return l
}

// Digest is a SHA-256 sum.
type Digest [32]byte

// String returns the lower-case hex form of d.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest parses the 64-character hex form of a SHA-256 sum.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 64 {
		return d, fmt.Errorf("%w: digest %q is not 64 hex characters", ErrFormat, s)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("%w: digest %q: %v", ErrFormat, s, err)
	}
	return d, nil
}

// File is one managed file of a release.
type File struct {
	Path   string      // slash-separated, relative to the target; see ValidPath
	Mode   fs.FileMode // permission bits only
	Size   int64       // bytes of content
	ZSize  int64       // bytes of the compressed blob on the origin
	SHA256 Digest      // of the content
	// GitSHA1, when non-zero, is the git blob SHA-1 of the content and
	// SHA256 is zero: files of the unsigned GitHub developer channel, whose
	// only hash is git's. Signed manifests always carry SHA256.
	GitSHA1 [20]byte
}

// NewHash returns a hash to stream the file's content through, and the sum it
// must end with: SHA-256, or git's blob SHA-1 ("blob SIZE\x00" + content).
func (f File) NewHash() (h hash.Hash, want []byte) {
	if f.GitSHA1 != ([20]byte{}) {
		h = sha1.New()
		fmt.Fprintf(h, "blob %d\x00", f.Size)
		return h, f.GitSHA1[:]
	}
	return sha256.New(), f.SHA256[:]
}

// Manifest lists every file of one release of one channel.
type Manifest struct {
	Channel  string
	Version  string
	Sequence uint64 // grows with every release of the channel
	Created  time.Time
	Expires  time.Time
	Files    []File // sorted by Path, unique
	// Agents are the agent binaries the release carries (header keys
	// agent-TARGET), sorted by Target, unique; see Agent.
	Agents []Agent
}

// Lookup returns the file at path p, if the manifest lists it.
func (m *Manifest) Lookup(p string) (File, bool) {
	i, ok := slices.BinarySearchFunc(m.Files, p, func(f File, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return File{}, false
	}
	return m.Files[i], true
}

// TotalSize returns the sum of the sizes of all files.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Marshal returns the text form of m. It sorts Files and checks every field,
// so that a publisher can never sign what an agent would refuse.
func (m *Manifest) Marshal() ([]byte, error) {
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(m.Agents, func(a, b Agent) int { return strings.Compare(a.Target, b.Target) })
	if err := m.check(DefaultLimits); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", manifestMagic, formatVersion)
	fmt.Fprintf(&b, "channel %s\nversion %s\nsequence %d\n", m.Channel, m.Version, m.Sequence)
	fmt.Fprintf(&b, "created %s\nexpires %s\n", m.Created.UTC().Format(time.RFC3339), m.Expires.UTC().Format(time.RFC3339))
	for _, a := range m.Agents {
		fmt.Fprintf(&b, "%s\n", a.line())
	}
	fmt.Fprintf(&b, "files %d\n", len(m.Files))
	for _, f := range m.Files {
		if f.GitSHA1 != ([20]byte{}) {
			fmt.Fprintf(&b, "%s\n", gitLine(f))
			continue
		}
		fmt.Fprintf(&b, "f %04o %d %d %s %s\n", f.Mode.Perm(), f.Size, f.ZSize, f.SHA256, f.Path)
	}
	return b.Bytes(), nil
}

// ParseManifest parses the text form of a manifest, enforcing lim.
func ParseManifest(data []byte, lim Limits) (*Manifest, error) {
	lim = lim.orDefault()
	hdr, body, err := parseHeader(data, manifestMagic, "files")
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	if err := hdr.fill(map[string]any{"channel": &m.Channel, "version": &m.Version, "sequence": &m.Sequence, "created": &m.Created, "expires": &m.Expires}); err != nil {
		return nil, err
	}
	if m.Agents, err = parseAgents(hdr); err != nil {
		return nil, err
	}
	count, err := strconv.Atoi(hdr.values["files"])
	if err != nil || count < 0 {
		return nil, fmt.Errorf("%w: line %d: files count %q", ErrFormat, hdr.lines["files"], hdr.values["files"])
	}
	if count > lim.MaxFiles {
		return nil, fmt.Errorf("%w: %d files, limit is %d (raise max_files)", ErrTooLarge, count, lim.MaxFiles)
	}
	m.Files = make([]File, 0, count)
	line := hdr.lines["files"]
	for len(body) > 0 {
		line++
		var l []byte
		l, body, _ = bytes.Cut(body, []byte("\n"))
		if len(m.Files) == count {
			return nil, fmt.Errorf("%w: line %d: more file lines than the declared %d", ErrFormat, line, count)
		}
		f, err := parseFileLine(string(l))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		m.Files = append(m.Files, f)
	}
	if len(m.Files) != count {
		return nil, fmt.Errorf("%w: %d file lines, header declares %d", ErrFormat, len(m.Files), count)
	}
	if err := m.check(lim); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseManifestHeader parses only the header of a manifest's text (channel,
// version, sequence, times, agents), up to its "files" line, and leaves
// Files nil: for a reader of the agents of a release of many files, which
// need not hold its file list in memory.
func ParseManifestHeader(data []byte, lim Limits) (*Manifest, error) {
	hdr, _, err := parseHeader(data, manifestMagic, "files")
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	if err := hdr.fill(map[string]any{"channel": &m.Channel, "version": &m.Version, "sequence": &m.Sequence, "created": &m.Created, "expires": &m.Expires}); err != nil {
		return nil, err
	}
	if m.Agents, err = parseAgents(hdr); err != nil {
		return nil, err
	}
	if err := checkHeader(m.Channel, m.Version, m.Expires); err != nil {
		return nil, err
	}
	return m, checkAgents(m.Agents, lim.orDefault())
}

// ParseFileLine parses one file line of a manifest's text, without its
// newline, as ParseManifest does.
func ParseFileLine(line string) (File, error) { return parseFileLine(line) }

// parseFileLine parses "f MODE SIZE ZSIZE SHA256 PATH", or the git variant
// "g MODE SIZE ZSIZE GITSHA1 PATH" (see git.go).
func parseFileLine(l string) (File, error) {
	parts := strings.SplitN(l, " ", 6)
	var f File
	if len(parts) != 6 || (parts[0] != "f" && parts[0] != "g") {
		return f, fmt.Errorf("%w: file line %q: want \"f MODE SIZE ZSIZE SHA256 PATH\"", ErrFormat, l)
	}
	mode, err := strconv.ParseUint(parts[1], 8, 32)
	if err != nil || mode&^0o777 != 0 {
		return f, fmt.Errorf("%w: mode %q is not octal permission bits", ErrFormat, parts[1])
	}
	f.Mode = fs.FileMode(mode)
	if f.Size, err = strconv.ParseInt(parts[2], 10, 64); err != nil || f.Size < 0 {
		return f, fmt.Errorf("%w: size %q", ErrFormat, parts[2])
	}
	if f.ZSize, err = strconv.ParseInt(parts[3], 10, 64); err != nil || f.ZSize < 0 {
		return f, fmt.Errorf("%w: compressed size %q", ErrFormat, parts[3])
	}
	if parts[0] == "g" {
		f.GitSHA1, err = parseGitSHA1(parts[4])
	} else {
		f.SHA256, err = ParseDigest(parts[4])
	}
	if err != nil {
		return f, err
	}
	f.Path = strings.Clone(parts[5]) // not a substring: the line can be freed
	return f, ValidPath(f.Path)
}

func (m *Manifest) check(lim Limits) error {
	if err := checkHeader(m.Channel, m.Version, m.Expires); err != nil {
		return err
	}
	if len(m.Files) > lim.MaxFiles {
		return fmt.Errorf("%w: %d files, limit is %d (raise max_files)", ErrTooLarge, len(m.Files), lim.MaxFiles)
	}
	if err := checkAgents(m.Agents, lim); err != nil {
		return err
	}
	var total int64
	for i, f := range m.Files {
		if err := ValidPath(f.Path); err != nil {
			return err
		}
		if i > 0 && m.Files[i-1].Path >= f.Path {
			return fmt.Errorf("%w: path %q is out of order or repeated", ErrFormat, f.Path)
		}
		if f.Size > lim.MaxFileSize {
			return fmt.Errorf("%w: %q is %d bytes, limit is %d (raise max_file_mb)", ErrTooLarge, f.Path, f.Size, lim.MaxFileSize)
		}
		if f.GitSHA1 != ([20]byte{}) && f.SHA256 != (Digest{}) {
			return fmt.Errorf("%w: %q has both a SHA-256 and a git SHA-1", ErrFormat, f.Path)
		}
		if f.Mode&^0o777 != 0 {
			return fmt.Errorf("%w: %q has mode %v; only permission bits are allowed", ErrFormat, f.Path, f.Mode)
		}
		total += f.Size
	}
	if total > lim.MaxTotalSize {
		return fmt.Errorf("%w: release is %d bytes, limit is %d (raise max_total_mb)", ErrTooLarge, total, lim.MaxTotalSize)
	}
	return checkDirFileConflicts(m.Files)
}

// checkDirFileConflicts refuses a manifest that names both "a" and "a/b":
// no filesystem can hold both.
func checkDirFileConflicts(files []File) error {
	for i := 1; i < len(files); i++ {
		// In sorted order, "a/…" follows "a" after only paths that start with "a" and a byte < '/'.
		for j := i; j < len(files) && strings.HasPrefix(files[j].Path, files[i-1].Path); j++ {
			if strings.HasPrefix(files[j].Path, files[i-1].Path+"/") {
				return fmt.Errorf("%w: %q is a file and also a folder of %q", ErrPath, files[i-1].Path, files[j].Path)
			}
		}
	}
	return nil
}

func checkHeader(channel, version string, expires time.Time) error {
	for name, v := range map[string]string{"channel": channel, "version": version} {
		if v == "" || strings.ContainsAny(v, " \t\r\n/\\") || len(v) > 128 {
			return fmt.Errorf("%w: %s %q must be 1 to 128 characters without spaces or slashes", ErrFormat, name, v)
		}
	}
	if expires.IsZero() {
		return fmt.Errorf("%w: no expires time", ErrFormat)
	}
	return nil
}

// header holds the key-value lines that open a document.
type header struct {
	values map[string]string
	lines  map[string]int
}

// parseHeader reads the magic line and key-value lines up to and including the
// key stop (or to the end when stop is ""), and returns the rest of data.
func parseHeader(data []byte, magic, stop string) (header, []byte, error) {
	h := header{values: map[string]string{}, lines: map[string]int{}}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return h, nil, fmt.Errorf("%w: does not end with a newline", ErrFormat)
	}
	n := 0
	rest := data
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		n++
		key, val, ok := strings.Cut(string(l), " ")
		if n == 1 {
			if key != magic {
				return h, nil, fmt.Errorf("%w: first line %q: not a %s document", ErrFormat, truncate(string(l)), magic)
			}
			if val != strconv.Itoa(formatVersion) {
				return h, nil, fmt.Errorf("%w: %s version %q, this agent reads version %d", ErrVersion, magic, truncate(val), formatVersion)
			}
			continue
		}
		if !ok || key == "" {
			return h, nil, fmt.Errorf("%w: line %d: %q is not \"key value\"", ErrFormat, n, truncate(string(l)))
		}
		if _, dup := h.values[key]; dup {
			return h, nil, fmt.Errorf("%w: line %d: key %q repeated", ErrFormat, n, key)
		}
		h.values[key], h.lines[key] = val, n
		if key == stop {
			return h, rest, nil
		}
	}
	if stop != "" {
		return h, nil, fmt.Errorf("%w: no %q line", ErrFormat, stop)
	}
	return h, nil, nil
}

// fill parses the named header keys into the pointed-to values; every key
// must be present.
func (h header) fill(dst map[string]any) error {
	for key, p := range dst {
		v, ok := h.values[key]
		if !ok {
			return fmt.Errorf("%w: no %q line", ErrFormat, key)
		}
		var err error
		switch p := p.(type) {
		case *string:
			*p = v
		case *uint64:
			*p, err = strconv.ParseUint(v, 10, 64)
		case *int64:
			*p, err = strconv.ParseInt(v, 10, 64)
		case *int:
			*p, err = strconv.Atoi(v)
		case *Digest:
			*p, err = ParseDigest(v)
		case *time.Time:
			*p, err = time.Parse(time.RFC3339, v)
		default:
			panic(fmt.Sprintf("manifest: fill: unsupported type %T", p))
		}
		if err != nil {
			return fmt.Errorf("%w: line %d: %s %q: %v", ErrFormat, h.lines[key], key, truncate(v), err)
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// RelatedMaxSize caps the files RelatedBase considers.
const RelatedMaxSize = 8 << 20

// RelatedBase picks, for a path p that m does not list, the file of m that
// a patch for p's content is made from: among m's non-empty files of at most
// RelatedMaxSize bytes with p's extension, the one whose path shares the
// longest prefix with p, the larger on a tie, the first in path order after
// that. Publisher and device both apply this rule to their copy of m, so
// they agree on the base without saying it.
func (m *Manifest) RelatedBase(p string) (File, bool) {
	r := NewRelated(p)
	for _, f := range m.Files {
		r.Consider(f)
	}
	return r.Base()
}
