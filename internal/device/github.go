package device

import (
	"fmt"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github"
	"github.com/ferry-ota/ferry/internal/origin"
)

// gitHubSource returns the origin of a [github] config: the assets of the
// repository's latest release (the stable channel), verified by the update
// cycle exactly as a Ferry origin is. The developer channel (a branch head,
// unsigned) needs an install path without signatures and is refused here.
func (d *Device) gitHubSource(retry origin.RetryPolicy) (origin.Source, error) {
	g := d.Config.GitHub
	if g.Channel != "stable" {
		return nil, fmt.Errorf("%w: github.channel %q: this agent follows only the stable channel (signed releases) of GitHub", config.ErrInvalid, g.Channel)
	}
	c, err := github.New(*g, github.Options{Version: d.Version, Logger: d.Log, Allow: d.Config.Allowed})
	if err != nil {
		return nil, err
	}
	return origin.WithRetry(github.NewReleaseSource(c), retry), nil
}
