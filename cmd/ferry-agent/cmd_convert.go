package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/install"
)

func cmdConvert(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("convert", "With --layout slots or --layout inplace (required): change the target between the two layouts, keeping the installed release and the\ndevice's own files: --layout slots renames the target folder to TARGET.slot-a and\nmakes TARGET a link to it; --layout inplace turns the current slot back into the\ntarget folder and removes the other slot. Crash-safe: an interrupted change is\ncompleted by the next recover. A release on trial must be confirmed or rolled\nback first; the state folder must be outside the target. Then set layout in the\nconfig to the same value.", &c)
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
