package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/install"
)

func cmdConvert(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("convert", "With --layout slots or --layout inplace (required): change the target between the\n"+
		"two layouts, keeping the installed release and the device's own files. slots renames\n"+
		"the target folder to TARGET.slot-a and makes TARGET a link to it; inplace turns the\n"+
		"current slot back into the target folder and removes the other slot. Crash-safe: an\n"+
		"interrupted change is completed by the next recover. A release on trial must be\n"+
		"confirmed or rolled back first; the state folder must be outside the target. Then\n"+
		"set layout in the config to the same value.", &c)
	layout := fs.String("layout", "", "the layout to change to: `slots` or inplace")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *layout != install.LayoutSlots && *layout != install.LayoutInPlace {
		return fmt.Errorf("%w: --layout %q: want slots or inplace", errUsage, *layout)
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	unlock, err := a.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := a.Installer.Convert(ctx, *layout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s now has the %s layout", a.Config.Target, *layout)
	if a.Config.Layout != *layout {
		fmt.Fprintf(stdout, ": set layout = %q in %s", *layout, c.config)
	}
	fmt.Fprintln(stdout)
	return nil
}
