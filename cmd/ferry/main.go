// Command ferry is Ferry's publisher: it makes keys, publishes releases into
// an origin folder, changes a channel's rollout and serves an origin over
// HTTP, and re-signs channel pointers before they expire. Each subcommand lives in its own cmd_*.go file; its -h text is the
// usage text of README.md. The work is done by internal/keys and
// internal/publish: this command parses flags and wires them up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	name  string
	usage string // the -h text, also in README.md
	run   func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand may touch.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// commands lists the subcommands, in the order of the usage text.
var commands = []*command{demoCmd, fleetCmd, keygenCmd, keysCmd, releaseCmd, rolloutCmd, refreshCmd, serveCmd, versionCmd}

// errUsage marks a command-line mistake: the usage text follows the error.
var errUsage = errors.New("usage")

const mainUsage = `usage: ferry <command> [flags]

Ferry publishes over-the-air updates into an origin folder that any static
file server can serve.

commands:
  demo       run the main job on a built-in example (keys, releases, origin, device)
  fleet      the fleet service: device reports and a dashboard
  keygen     create root and signing keys
  keys       rotate signing keys, add refresh keys
  release    publish a release from a folder or a git tag
  rollout    change the rollout percentage of a channel
  refresh    re-sign a channel's pointer with a new expiry (cron)
  serve      serve an origin folder over HTTP
  version    print the version

Run "ferry <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ferryMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// ferryMain runs the command line args and returns the exit code: 0, 1 for
// a failure, 2 for a usage mistake.
func ferryMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, log: slog.New(slog.NewTextHandler(stderr, nil))}
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, mainUsage)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(c, c.run(ctx, e, args[1:]), stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "ferry: unknown command %q\n\n%s", args[0], mainUsage)
	return 2
}

func exitCode(c *command, err error, stdout, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, c.usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ferry %s: %v\n\n%s", c.name, err, c.usage)
		return 2
	}
	fmt.Fprintf(stderr, "ferry %s: %v\n", c.name, err)
	return 1
}

// parseFlags parses args with fs, allowing positional arguments before,
// between and after flags; it returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// required returns a usage error naming the flags that are empty.
func required(flags map[string]string) error {
	var missing []string
	for name, v := range flags {
		if v == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("%w: missing %s", errUsage, strings.Join(missing, ", "))
}
