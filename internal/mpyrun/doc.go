// Package mpyrun runs Ferry's MicroPython code from Go tests: a Python file
// through the node runner (micropython/runner/exec.mjs, real MicroPython 1.27
// in its WebAssembly port) and the board simulator micropython/run.
//
// Need finds what that takes: node, and the runner's npm package in
// micropython/runner/node_modules. When node_modules is missing and npm is
// installed, Need runs `npm --prefix micropython/runner ci` once (under a file
// lock, so parallel test binaries do not race; --prefer-offline, so a warm
// npm cache is enough). When node or the package cannot be had, a test is
// skipped on a developer's machine with the command that installs them, and
// fails in CI (CI=true), where .ci/run installs them.
//
// Test files: every micropython/tests/test_*.py is a self-contained test run
// as a subtest of TestMicroPython (exit status 0 = pass). Files there not
// named test_*.py are helpers, or are driven by a Go test that starts a
// server and passes its address as an argument. This package's own:
//
//	sock_bridge.py   TestSocketBridge          the runner's socket module
//	http_faults.py   TestHTTPFaults            ferry/http.py against faultnet
//	http_hostile.py  TestHTTPHostileResponses  malformed and mutated responses
//	fetch_faults.py  TestFetchFaults           ferry/fetch.py: resume, caps, .z blobs
//	patch_apply.py   TestPatchApply            ferry/fetch.py and mpatch.py: .mpatch patches
//	inflate_file.py  TestZlibWindow            the .z window in MicroPython's deflate
//
// and TestRun drives micropython/run against releases of the Go publisher.
package mpyrun
