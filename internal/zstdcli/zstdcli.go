// Package zstdcli runs the reference zstd encoder (the zstd command, from
// facebook/zstd) as a publisher's optional stronger compressor.
//
// klauspost/compress, which Ferry uses everywhere else, decodes every zstd
// frame and encodes well, but its strongest level has no optimal parser:
// on small source-tree updates the reference encoder at level 19 makes
// frames 3-8% smaller (bench/README.md). Devices pay for every byte, and a
// publisher can afford to run a command, so `ferry release` uses the zstd
// command when it finds one and klauspost/compress otherwise. Whatever the
// encoder, the caller keeps its frame only after decoding it with the
// device's decoder, and only where it is smaller.
package zstdcli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNotFound: no zstd command on PATH.
var ErrNotFound = errors.New("zstdcli: no zstd command (apt-get install zstd)")

// Level is the compression level used: 19, the strongest level without
// --ultra, whose window stays within what devices accept.
const Level = 19

// Find returns the path of the zstd command named by spec: "auto" looks it
// up on PATH and returns ErrNotFound if it is missing, "off" returns "",
// anything else is the path of the command itself.
func Find(spec string) (string, error) {
	switch spec {
	case "off", "":
		return "", nil
	case "auto":
		p, err := exec.LookPath("zstd")
		if err != nil {
			return "", ErrNotFound
		}
		return p, nil
	}
	if _, err := os.Stat(spec); err != nil {
		return "", fmt.Errorf("zstdcli: %w", err)
	}
	return spec, nil
}

// Compressor returns a function that compresses body into one zstd frame
// with the command at path, with dict as its raw content dictionary (as
// --patch-from does) when dict is not nil. The window is capped at 2^wlog
// bytes, and the frame has no checksum (the device checks a SHA-256).
func Compressor(path string, wlog int) func(body, dict []byte) ([]byte, error) {
	return func(body, dict []byte) ([]byte, error) {
		dir, err := os.MkdirTemp("", "ferry-zstd")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		args := []string{"-q", fmt.Sprintf("-%d", Level), "--no-check", fmt.Sprintf("--zstd=wlog=%d", wlog), "-c"}
		if dict != nil {
			name := filepath.Join(dir, "dict")
			if err := os.WriteFile(name, dict, 0o600); err != nil {
				return nil, err
			}
			args = append(args, "--patch-from="+name)
		}
		name := filepath.Join(dir, "body")
		if err := os.WriteFile(name, body, 0o600); err != nil {
			return nil, err
		}
		cmd := exec.Command(path, append(args, name)...)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("zstdcli: %s: %w: %s", path, err, bytes.TrimSpace(stderr.Bytes()))
		}
		return out.Bytes(), nil
	}
}
