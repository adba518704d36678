package delta

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

func TestScratchStreams(t *testing.T) {
	old, _ := os.ReadFile(os.Getenv("OLDF"))
	nw, _ := os.ReadFile(os.Getenv("NEWF"))
	cmds, _ := commands(old, nw)
	var ctrl, diff, extra []byte
	r := bytes.NewReader(cmds)
	for r.Len() > 0 {
		c, err := readCommand(r)
		if err != nil {
			t.Fatal(err)
		}
		ctrl = appendCommand(ctrl, c)
		d := make([]byte, c.addLen)
		r.Read(d)
		diff = append(diff, d...)
		e := make([]byte, c.insLen)
		r.Read(e)
		extra = append(extra, e...)
	}
	_ = binary.MaxVarintLen64
	os.WriteFile("/tmp/s.cmds", cmds, 0o644)
	os.WriteFile("/tmp/s.ctrl", ctrl, 0o644)
	os.WriteFile("/tmp/s.diff", diff, 0o644)
	os.WriteFile("/tmp/s.extra", extra, 0o644)
	for _, s := range [][]byte{cmds, ctrl, diff, extra} {
		p, _ := encode(header{}, s, nil, Options{})
		t.Logf("%d -> %d", len(s), len(p))
	}
}
