package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/decider"
	"github.com/ferry-ota/ferry/internal/fleet/server"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

var fleetCmd = &command{name: "fleet", run: runFleet, usage: `usage: ferry fleet token
       ferry fleet serve --addr HOST:PORT --db DB --token-file FILE [--allow FILE] [--keep 2160h]
                         [--origin DIR --rollout-keys FOLDER [--decide-every 1m]]
       ferry fleet forget --db DB DEVICE...
       ferry fleet simulate --devices N --origin URL --root FILE [--fleet URL --token-file FILE]
                            [--poll 10s] [--duration 5m] [--fault-rate P] [--power-cut-rate P] ...

The fleet service: devices report to it after every update cycle (the
agent's report_url), and it serves a dashboard of the fleet at /.

ferry fleet token prints a new enrollment token. Put it in the service's
token file and in the agents' enroll_token: a device enrolls with its first
report carrying the token, and its id is bound to its own key from then on.

ferry fleet serve runs the service. DB is the path of an SQLite file
(created if missing) or a postgres:// URL, which several instances may
share; the schema is migrated at start. SIGINT or SIGTERM stops it.

ferry fleet forget unbinds the key of each DEVICE, keeping its history: for
a device that lost its key (its state folder was wiped), which the service
otherwise refuses under its old id. Its next report with the token binds
its new key.

flags of serve:
  --addr HOST:PORT   the address to listen on (default 127.0.0.1:8090)
  --db DB            an SQLite file or a postgres:// URL (required)
  --token-file FILE  the enrollment tokens, one a line (required unless --allow)
  --allow FILE       device public keys that may enroll without a token, one
                     a line (the content of a device's <state>/fleet.pub)
  --keep D           how long reports are kept (default 2160h, 90 days); an
                     older report is refused, so a resend is never stored twice
  --origin DIR       act on the staged rollouts (ferry rollout --stages): every
                     --decide-every, advance or halt each channel's release and
                     write its signed rollout document, DIR/rollouts/C.note
  --rollout-keys F   the folder with the rollout keys (ferry keys add-rollout:
                     rollout-C-N.key), root.pub and signing-keys-2.note; no
                     other key is needed or wanted there (required with --origin)
  --decide-every D   how often rollouts are decided (default 1m)
` + simulateUsage}

func runFleet(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return flag.ErrHelp
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: want token, serve, forget or simulate", errUsage)
	}
	switch args[0] {
	case "token":
		if err := noArgs(parseFlags(flag.NewFlagSet("fleet token", flag.ContinueOnError), args[1:])); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, server.NewToken())
		return nil
	case "serve":
		return runFleetServe(ctx, e, args[1:])
	case "forget":
		return runFleetForget(ctx, e, args[1:])
	case "simulate":
		return runFleetSimulate(ctx, e, args[1:])
	}
	return fmt.Errorf("%w: unknown fleet command %q: want token, serve, forget or simulate", errUsage, args[0])
}

func runFleetServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("fleet serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "")
	db := fs.String("db", "", "")
	tokenFile := fs.String("token-file", "", "")
	allowFile := fs.String("allow", "", "")
	keep := fs.Duration("keep", 90*24*time.Hour, "")
	originDir := fs.String("origin", "", "")
	rolloutKeys := fs.String("rollout-keys", "", "")
	decideEvery := fs.Duration("decide-every", time.Minute, "")
	if err := noArgs(parseFlags(fs, args)); err != nil {
		return err
	}
	if err := required(map[string]string{"db": *db}); err != nil {
		return err
	}
	if *tokenFile == "" && *allowFile == "" {
		return fmt.Errorf("%w: missing --token-file (or --allow)", errUsage)
	}
	if (*originDir == "") != (*rolloutKeys == "") {
		return fmt.Errorf("%w: give --origin and --rollout-keys together, or neither", errUsage)
	}
	if *decideEvery <= 0 {
		return fmt.Errorf("%w: --decide-every %v must be positive", errUsage, *decideEvery)
	}
	if *keep < time.Hour {
		return fmt.Errorf("%w: --keep %v: keep reports for an hour at least", errUsage, *keep)
	}
	cfg := server.Config{Logger: e.log, MaxAge: *keep}
	var err error
	if *tokenFile != "" {
		if cfg.Tokens, err = server.LoadTokens(*tokenFile); err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
	}
	if *allowFile != "" {
		if cfg.Allow, err = server.LoadAllowList(*allowFile); err != nil {
			return fmt.Errorf("--allow: %w", err)
		}
	}
	if cfg.Store, err = store.Open(ctx, *db); err != nil {
		return err
	}
	defer cfg.Store.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := server.New(cfg)
	go srv.RunPruner(ctx, time.Hour)
	if *originDir != "" {
		dec := decider.New(decider.Config{Store: cfg.Store, Origin: *originDir, Keys: *rolloutKeys, Logger: e.log})
		go dec.Run(ctx, *decideEvery)
	}
	return server.Serve(ctx, ln, srv, e.log)
}

func runFleetForget(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("fleet forget", flag.ContinueOnError)
	db := fs.String("db", "", "")
	devices, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := required(map[string]string{"db": *db}); err != nil {
		return err
	}
	if len(devices) == 0 {
		return fmt.Errorf("%w: name the DEVICE ids to forget", errUsage)
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, d := range devices {
		if err := st.Forget(ctx, d); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "device %s: key forgotten; its next report with the enrollment token binds a new one\n", d)
	}
	return nil
}
