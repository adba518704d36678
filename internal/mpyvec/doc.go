// Package mpyvec checks the MicroPython port of Ferry's trust code
// (micropython/ferry: ed25519, sha512, sha1, note, trust, manifest) and of
// its update-bundle decoder (mbundle, against internal/mbundle) against
// the Go code it mirrors. Its tests generate vectors with the real Go
// implementation (crypto/ed25519, crypto/sha*, internal/trust,
// internal/manifest) into a temporary folder: valid documents and seeded
// random mutations of them, each with the verdict Go reaches (accepted, or
// the sentinel error it refuses with). They then run the matching
// micropython/tests/test_*.py in MicroPython with that folder as argv[1];
// the Python side must reach the same verdict on every vector. Nothing is
// hard-coded, so the two sides cannot drift apart unnoticed.
package mpyvec
