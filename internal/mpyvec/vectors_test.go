package mpyvec

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/mpyrun"
)

// run runs micropython/tests/<name> in MicroPython with the vectors in dir
// and fails on a non-zero exit. The runner copies a test file's folder into
// MicroPython's filesystem as /test (with the test helpers of notekit.py and mbkit.py), so the test runs from a copy in dir and
// finds the vectors under argv[1] = "/test".
func run(t *testing.T, name, dir string) {
	t.Helper()
	r := mpyrun.Need(t)
	for _, f := range []string{name, "notekit.py", "mbkit.py", "flashmodel.py"} {
		src, err := os.ReadFile(filepath.Join(r.Root, "micropython", "tests", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, f, src)
	}
	res := r.Exec(t, 0, filepath.Join(dir, name), "/test")
	if res.Code != 0 {
		t.Fatalf("%s: %s", name, res)
	}
	t.Log(strings.TrimSpace(res.Stdout))
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func hx(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func TestSHAVectors(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for _, n := range []int{0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 200, 255, 256, 300, 1000} {
		m := make([]byte, n)
		for i := range m {
			m[i] = byte(rng.Uint32())
		}
		s1, s5 := sha1.Sum(m), sha512.Sum512(m)
		fmt.Fprintf(&b, "%s %x %x\n", hx(m), s1, s5)
	}
	dir := t.TempDir()
	write(t, dir, "sha.txt", b.Bytes())
	run(t, "test_sha.py", dir)
}

// le32 is n as 32 little-endian bytes.
func le32(n *big.Int) []byte {
	be := n.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return be
}

func TestEd25519Vectors(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	order, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var b bytes.Buffer
	add := func(pub, sig, msg []byte) {
		fmt.Fprintf(&b, "%s %s %s %d\n", hx(pub), hx(sig), hx(msg), map[bool]int{false: 0, true: 1}[ed25519.Verify(pub, msg, sig)])
	}
	for i := 0; i < 12; i++ {
		seed := make([]byte, 32)
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		priv := ed25519.NewKeyFromSeed(seed)
		pub := priv.Public().(ed25519.PublicKey)
		msg := []byte(fmt.Sprintf("message %d %x", i, seed[:i]))
		sig := ed25519.Sign(priv, msg)
		add(pub, sig, msg)
		// One mutation each: a flipped bit somewhere in pub, sig or msg.
		switch i % 6 {
		case 0:
			s := bytes.Clone(sig)
			s[rng.IntN(64)] ^= 1 << rng.IntN(8)
			add(pub, s, msg)
		case 1:
			k := bytes.Clone(pub)
			k[rng.IntN(32)] ^= 1 << rng.IntN(8)
			add(k, sig, msg)
		case 2:
			add(pub, sig, append(bytes.Clone(msg), 0))
		case 3: // S + L: the same scalar, not canonical
			s := new(big.Int).SetBytes(reverse(sig[32:]))
			add(pub, append(bytes.Clone(sig[:32]), le32(s.Add(s, order))...), msg)
		case 4: // A with y + p where that still fits: non-canonical, Go accepts
			y := new(big.Int).SetBytes(reverse(pub))
			sign := y.Bit(255)
			y.SetBit(y, 255, 0)
			if y.Cmp(big.NewInt(19)) < 0 {
				y.Add(y, p)
				k := le32(y)
				k[31] |= byte(sign << 7)
				add(k, sig, msg)
			} else {
				add(pub, sig[:63], msg)
			}
		case 5: // random 32 bytes as a key: off the curve about half the time
			k := make([]byte, 32)
			for j := range k {
				k[j] = byte(rng.Uint32())
			}
			add(k, sig, msg)
		}
	}
	// Small-order and identity keys with R = [S]B signatures: cofactorless
	// verification decides these exactly as Go does.
	one := make([]byte, 32)
	one[0] = 1
	negZero := bytes.Clone(one)
	negZero[31] |= 0x80
	ypOne := le32(new(big.Int).Add(p, big.NewInt(1)))
	minusOne := le32(new(big.Int).Sub(p, big.NewInt(1)))
	base := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey) // a point of order L
	for _, k := range [][]byte{one, negZero, ypOne, minusOne, make([]byte, 32), base} {
		for s := byte(1); s <= 3; s++ {
			r, sc := baseMult(s, order)
			add(k, append(r, sc...), []byte("any message"))
		}
	}
	dir := t.TempDir()
	write(t, dir, "ed25519.txt", b.Bytes())
	run(t, "test_ed25519.py", dir)
}

func reverse(b []byte) []byte {
	r := bytes.Clone(b)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return r
}

// baseMult returns R = [a]B and S = a mod L for the clamped scalar a of the
// seed {s, 0, ...}: an Ed25519 public key is [a]B, and B has order L. With
// the identity as the key, (R, S) is a valid cofactorless signature of any
// message.
func baseMult(s byte, order *big.Int) (r, sc []byte) {
	seed := make([]byte, 32)
	seed[0] = s
	r = ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	h := sha512.Sum512(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	a := new(big.Int).SetBytes(reverse(h[:32]))
	return r, le32(a.Mod(a, order))
}
