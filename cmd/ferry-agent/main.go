// Command ferry-agent runs on the device: it updates the managed application
// from a Ferry origin, crash-safely, and reports what it did in one line.
//
// Usage:
//
//	ferry-agent update   --config FILE   recover, poll, verify, install if newer
//	ferry-agent status   --config FILE   installed release, last check, transaction in flight
//	ferry-agent recover  --config FILE   finish or undo an interrupted transaction
//	ferry-agent rollback --config FILE   roll back to the previous release
//	ferry-agent convert  --config FILE --layout slots|inplace   change the layout of the target
//	ferry-agent confirm  --config FILE   end the trial of the installed release
//	ferry-agent run      --config FILE   the daemon: poll on a schedule, health-gated
//	ferry-agent version                  version, commit and build date
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
	"runtime/debug"
	"sort"
	"syscall"
)

// Set by the linker: -X main.version=… -X main.commit=… -X main.date=…
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = map[string]command{
	"update":   {"recover, poll the origin, verify, and install a newer release", cmdUpdate},
	"status":   {"print the installed release, last check and any transaction in flight", cmdStatus},
	"recover":  {"finish or undo a transaction a crash interrupted", cmdRecover},
	"rollback": {"roll back to the previous release (on trial; in the slots layout, also after confirm)", cmdRollback},
	"convert":  {"change the target between the inplace and slots layouts, crash-safely", cmdConvert},
	"confirm":  {"confirm the release on trial (end the trial)", cmdConfirm},
	"run":      {"the daemon: poll on a schedule, install on trial, health-gated commit", cmdRun},
	"version":  {"print version, commit and build date", cmdVersion},
}

func main() {
	// A device has little memory to spare: collect garbage at half the
	// default heap growth, and harder near 8 MiB (a soft limit, which also
	// makes the runtime return the pages a churn of small allocations
	// leaves behind), unless GOGC or GOMEMLIMIT say otherwise. The live
	// heap of an update stays near 2 MiB (manifests are streamed); above 8
	// MiB (a blob of an 8 MiB window, a patch with a dictionary) the limit
	// costs collections, never a failure. Measured by bench/rss.sh.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(8 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ferry-agent: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ferry-agent %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "ferry-agent %s: %v%s\n", args[0], err, hint(err))
	return 1
}

var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ferry-agent COMMAND --config FILE\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ferry-agent COMMAND -h' for a command's flags.")
}

// commonFlags are the flags of every command that reads the config.
type commonFlags struct {
	config  string
	verbose bool
}

func newFlagSet(name, synopsis string, c *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("ferry-agent "+name, flag.ContinueOnError)
	fs.StringVar(&c.config, "config", "/etc/ferry/agent.toml", "the agent's TOML config `file`")
	fs.BoolVar(&c.verbose, "v", false, "log progress (info level) to stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ferry-agent %s --config FILE\n\n%s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func logger(c *commonFlags) *slog.Logger {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func cmdVersion(ctx context.Context, args []string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "ferry-agent %s (commit %s, built %s)\n", version, commit, date)
	return nil
}
