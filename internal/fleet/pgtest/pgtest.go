// Package pgtest starts a throwaway PostgreSQL server for tests: initdb and
// pg_ctl from the distribution's packages (/usr/lib/postgresql/*/bin) into a
// fresh folder, listening on a free 127.0.0.1 port, stopped and removed when
// the test ends. PostgreSQL refuses to run as root, so under root the server
// runs as the user nobody. Without the binaries the test is skipped with the
// install command, except in CI (CI=true), where that is a failure.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// Start starts a server and returns its URL, for the database "postgres" of
// the user "ferry" (trust authentication, no password).
func Start(t testing.TB) string {
	t.Helper()
	bin := binDir(t)
	dir, cred := workDir(t)
	port := freePort(t)
	data := filepath.Join(dir, "data")
	run(t, cred, filepath.Join(bin, "initdb"), "-D", data, "-U", "ferry", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -F -c max_connections=50", port, dir)
	run(t, cred, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return fmt.Sprintf("postgres://ferry@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// binDir finds the newest PostgreSQL's bin folder, or skips (fails in CI).
func binDir(t testing.TB) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): .ci/run installs the package postgresql")
		}
		t.Skip("PostgreSQL is not installed: apt-get install postgresql")
	}
	slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) })
	return filepath.Dir(found[0])
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// workDir makes the server's folder; under root it belongs to nobody, who
// then runs the server (cred is nil otherwise).
func workDir(t testing.TB) (string, *syscall.Credential) {
	t.Helper()
	// Not t.TempDir: its parents are private to root, and nobody must reach it.
	dir, err := os.MkdirTemp("", "ferry-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() != 0 {
		return dir, nil
	}
	uid, gid := uint32(65534), uint32(65534)
	if u, err := user.Lookup("nobody"); err == nil {
		if n, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
			uid = uint32(n)
		}
		if n, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
			gid = uint32(n)
		}
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatalf("giving %s to nobody: %v", dir, err)
	}
	return dir, &syscall.Credential{Uid: uid, Gid: gid}
}

func run(t testing.TB, cred *syscall.Credential, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(name), err, out)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
