package lora

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Result codes of the status uplink.
const (
	ResultNever      byte = 0 // no cycle has run over a data link
	ResultUpdated    byte = 1
	ResultUpToDate   byte = 2
	ResultDeferred   byte = 3
	ResultError      byte = 4
	ResultRolledBack byte = 5
)

// Uplink constants.
const (
	UplinkMagic    = "FU"
	UplinkSize     = 11        // the payload without a version
	UplinkPort     = 2         // the LoRaWAN FPort of RUI3's AT+SEND
	UplinkInterval = time.Hour // the least time between two status uplinks
)

// Module families, as lora_module names them.
const (
	ModuleRUI3  = "rui3"  // RAK3172 and other RUI3 modules: AT+SEND=<port>:<hex>
	ModuleE5    = "e5"    // Seeed LoRa-E5: AT+MSGHEX="<hex>"
	ModuleReyax = "reyax" // Reyax RYLR: AT+SEND=0,<len>,<text>
)

// ErrModule: the module's family is neither configured nor recognised.
var ErrModule = errors.New("lora: unknown module family")

// StatusPayload returns the status uplink's bytes: the result code and the
// installed sequence, then as much of version as fits in maxLen (11 or
// less: none).
func StatusPayload(result byte, seq uint64, version string, maxLen int) []byte {
	p := make([]byte, 0, max(maxLen, UplinkSize))
	p = append(p, UplinkMagic...)
	p = append(p, result)
	p = binary.BigEndian.AppendUint64(p, seq)
	if room := maxLen - len(p); room > 0 && version != "" {
		p = append(p, version[:min(room, len(version))]...)
	}
	return p
}

// UplinkCommand returns the AT command that sends payload with module's
// family (the hex upper-case, as the board writes it).
func UplinkCommand(module string, payload []byte) (string, error) {
	h := strings.ToUpper(hex.EncodeToString(payload))
	switch module {
	case ModuleRUI3:
		return fmt.Sprintf("AT+SEND=%d:%s", UplinkPort, h), nil
	case ModuleE5:
		return fmt.Sprintf("AT+MSGHEX=%q", h), nil
	case ModuleReyax:
		return fmt.Sprintf("AT+SEND=0,%d,%s", len(h), h), nil
	}
	return "", fmt.Errorf("%w: %q", ErrModule, module)
}

// Commander sends an AT command and returns its answer (modem.Conn).
type Commander interface {
	Command(ctx context.Context, cmd string, timeout time.Duration) ([]string, error)
}

// DetectCommand is what Detect asks.
const DetectCommand = "AT+VER?"

// Detect asks the module its version and returns its family from the
// answer (Reyax "+VER=RYLR…", LoRa-E5 "+VER: 4.0.11", RUI3 "AT+VER…" or a
// version naming RUI), or "" when the answer is none of these. It must run
// before the Listener reads the port.
func Detect(ctx context.Context, c Commander, timeout time.Duration) string {
	lines, _ := c.Command(ctx, DetectCommand, timeout) // E5 and Reyax end with no OK: the lines before the timeout count
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "+VER="):
			return ModuleReyax
		case strings.HasPrefix(l, "+VER:"):
			return ModuleE5
		case strings.HasPrefix(l, "AT+VER") || strings.Contains(l, "RUI"):
			return ModuleRUI3
		}
	}
	return ""
}

// Sender writes a command to the module without waiting for its answer
// (modem.Conn's Send): the Listener owns the port's lines.
type Sender interface {
	Send(cmd string) error
}

// Uplink sends the status uplink, at most once per Interval.
type Uplink struct {
	Port     Sender
	Module   string        // ModuleRUI3, ModuleE5 or ModuleReyax
	Interval time.Duration // default UplinkInterval
	Now      func() time.Time
	Last     time.Time // when the last uplink was sent (the caller keeps it across restarts)

	mu sync.Mutex
}

// Status sends result and the installed sequence seq, unless the last
// uplink went less than Interval ago (sent false, no error).
func (u *Uplink) Status(result byte, seq uint64) (sent bool, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	every := u.Interval
	if every <= 0 {
		every = UplinkInterval
	}
	now := u.Now()
	if !u.Last.IsZero() && now.Sub(u.Last) < every && !now.Before(u.Last) {
		return false, nil
	}
	cmd, err := UplinkCommand(u.Module, StatusPayload(result, seq, "", UplinkSize))
	if err != nil {
		return false, err
	}
	if err := u.Port.Send(cmd); err != nil {
		return false, fmt.Errorf("lora: status uplink: %w", err)
	}
	u.Last = now
	return true, nil
}
