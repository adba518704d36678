package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

var versionCmd = &command{name: "version", run: runVersion, usage: `usage: ferry version

Print the version of ferry.
`}

func runVersion(_ context.Context, e *env, args []string) error {
	if err := noArgs(parseFlags(flag.NewFlagSet("version", flag.ContinueOnError), args)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ferry %s\n", buildVersion())
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
