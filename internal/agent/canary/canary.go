// Package canary decides whether this device takes a release under a staged
// rollout.
//
// The publisher signs a rollout percentage into the channel pointer and
// raises it over time (`ferry rollout --channel stable --percent 20`). Each
// device computes its bucket for that release,
//
//	bucket = uint64be(SHA-256("ferry-canary\x00" + device_id + "\x00" + version)[:8]) mod 100
//
// and takes the release iff bucket < percent. The bucket depends only on the
// device and the release, so the decision is the same on every poll and
// every restart (deterministic); raising the percentage only adds devices,
// never removes one (monotone); and each release draws a fresh, uniform
// sample of the fleet, so the same unlucky devices are not always first.
// The modulo bias of 2^64 mod 100 is below 10^-17 and does not matter.
//
// The device id is device_id from the config, else the systemd machine id
// (/etc/machine-id). It is never sent anywhere.
package canary

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrNoDeviceID means neither the config nor the machine-id file gave an id.
var ErrNoDeviceID = errors.New("canary: no device id")

// MachineIDPath is the default machine-id file.
const MachineIDPath = "/etc/machine-id"

// Bucket returns the device's bucket 0..99 for the release version.
func Bucket(deviceID, version string) int {
	h := sha256.New()
	h.Write([]byte("ferry-canary\x00"))
	h.Write([]byte(deviceID))
	h.Write([]byte{0})
	h.Write([]byte(version))
	sum := h.Sum(nil)
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// Take reports whether the device takes version at the rollout percentage:
// never at 0 or below, always at 100 or above.
func Take(deviceID, version string, percent int) bool {
	return Bucket(deviceID, version) < percent
}

// DeviceID returns configured when it is set, else the trimmed content of
// the machine-id file at path (MachineIDPath when path is empty).
func DeviceID(configured, path string) (string, error) {
	if id := strings.TrimSpace(configured); id != "" {
		return id, nil
	}
	if path == "" {
		path = MachineIDPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: set device_id in the config, or provide %q: %w", ErrNoDeviceID, path, err)
	}
	id := strings.TrimSpace(string(data))
	if id == "" {
		return "", fmt.Errorf("%w: %q is empty: set device_id in the config", ErrNoDeviceID, path)
	}
	return id, nil
}
