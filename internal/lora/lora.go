// Package lora listens to a LoRa module on a serial port (a UART AT module:
// RAK3172/RUI3, Seeed LoRa-E5, Reyax RYLR) for a downlink saying that a
// newer release is out, and makes the agent check now over its other
// links. LoRa is a trigger, never a data path: nothing of a release comes
// over it, and a trigger only moves the next check earlier, so a forged or
// replayed downlink costs at most one check, which verifies everything as
// any other. Triggers are rate-limited (MinInterval, and the schedule's
// min_update_interval_sec still holds).
//
// # The downlink (a format with a compatibility promise)
//
// The payload is "FS" followed by the channel's new sequence: in binary
// (the hex payload of RUI3's "+EVT:RX_…:<hex>" and LoRa-E5's
// `+MSG: … RX: "<hex>"`) as 8 bytes big-endian, 10 bytes in all; in text
// (Reyax's "+RCV=<addr>,<len>,<text>,<rssi>,<snr>") as decimal digits, like
// "FS42". A payload that does not start with "FS" is not ours and is
// ignored. Publishers send it from their LoRaWAN network server after
// `ferry release`; a later version of this format may append fields after
// the sequence, which this one ignores in binary and refuses in text.
package lora

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// magic starts every Ferry downlink.
const magic = "FS"

// ParseDownlink returns the sequence a module's line announces; ok is false
// for any other line (a join event, an ack, garbage, another payload).
func ParseDownlink(line string) (seq uint64, ok bool) {
	switch {
	case strings.HasPrefix(line, "+EVT:RX"): // RUI3: +EVT:RX_1:<rssi>:<snr>:UNICAST:<port>:<hex>
		return binaryPayload(line[strings.LastIndexByte(line, ':')+1:])
	case strings.HasPrefix(line, "+MSG:") || strings.HasPrefix(line, "+CMSG:"): // LoRa-E5: +MSG: PORT: 1; RX: "<hex>"
		i := strings.Index(line, `RX: "`)
		if i < 0 {
			return 0, false
		}
		rest := line[i+5:]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			return 0, false
		}
		return binaryPayload(rest[:j])
	case strings.HasPrefix(line, "+RCV="): // Reyax: +RCV=<addr>,<len>,<data>,<rssi>,<snr>
		f := strings.Split(line[5:], ",")
		if len(f) < 5 {
			return 0, false
		}
		return textPayload(strings.Join(f[2:len(f)-2], ","))
	}
	return 0, false
}

func binaryPayload(h string) (uint64, bool) {
	b, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil || len(b) < len(magic)+8 || string(b[:len(magic)]) != magic {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[len(magic):]), true
}

func textPayload(s string) (uint64, bool) {
	d, ok := strings.CutPrefix(s, magic)
	if !ok || d == "" || strings.TrimLeft(d, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(d, 10, 64)
	return n, err == nil
}

// MinInterval is the default least time between two triggers.
const MinInterval = 10 * time.Minute

// Lines is a source of the module's lines (modem.Conn's Next).
type Lines interface {
	Next(ctx context.Context) (string, error)
}

// Listener turns downlinks into triggers.
type Listener struct {
	Lines       Lines
	Installed   func() uint64 // the installed sequence; a trigger must be newer
	Trigger     func(seq uint64)
	MinInterval time.Duration // default MinInterval
	Now         func() time.Time
	Log         *slog.Logger

	mu      sync.Mutex
	last    time.Time
	lastSeq uint64
}

// Run reads lines until ctx ends or the port fails.
func (l *Listener) Run(ctx context.Context) error {
	for {
		line, err := l.Lines.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		seq, ok := ParseDownlink(line)
		if !ok {
			continue
		}
		if why := l.accept(seq); why != "" {
			l.log().Info("lora downlink ignored", "sequence", seq, "why", why)
			continue
		}
		l.log().Info("lora downlink: a newer release is out, checking now", "sequence", seq)
		l.Trigger(seq)
	}
}

// accept returns why a trigger for seq is ignored, or "" and records it.
func (l *Listener) accept(seq uint64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, min := l.Now(), l.MinInterval
	if min <= 0 {
		min = MinInterval
	}
	switch {
	case l.Installed != nil && seq <= l.Installed():
		return "not newer than the installed release"
	case seq <= l.lastSeq && now.Sub(l.last) < min:
		return "already triggered"
	case !l.last.IsZero() && now.Sub(l.last) < min:
		return "rate limited: the last trigger was less than " + min.String() + " ago"
	}
	l.last, l.lastSeq = now, seq
	return ""
}

func (l *Listener) log() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}
