package delta

import (
	"math/rand/v2"
	"testing"
)

// TestDiffFollowsApproximateAlignment checks the rule of approxMin: after
// an insertion, new agrees with old at a new alignment on six bytes of
// seven, so no exact match is long enough for bsdiff's rule; Diff must
// still follow it rather than send the rest as literals.
func TestDiffFollowsApproximateAlignment(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	old := randBytes(rng, 6000)
	new := append(append([]byte{}, old[:2000]...), randBytes(rng, 24)...)
	for i, c := range old[2000:] {
		if i%7 == 6 {
			c++
		}
		new = append(new, c)
	}
	es, err := edits(old, new)
	if err != nil {
		t.Fatal(err)
	}
	lits := 0
	for _, e := range es {
		lits += e.insLen
	}
	if lits > 64 {
		t.Errorf("%d literal bytes in %d commands, want the 24 inserted and few more", lits, len(es))
	}
	if p := roundTrip(t, old, new); len(p) > 200 {
		t.Errorf("patch of %d bytes, want at most 200", len(p))
	}
}
