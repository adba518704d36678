package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github"
)

// githubFlags are the flags of `ferry release` that also publish the release
// to GitHub, as assets of a GitHub release (see internal/github).
type githubFlags struct {
	repo, tag, tokenFile, api *string
}

func addGitHubFlags(fs *flag.FlagSet) githubFlags {
	return githubFlags{
		repo:      fs.String("github", "", ""),
		tag:       fs.String("tag", "", ""),
		tokenFile: fs.String("token-file", "", ""),
		api:       fs.String("github-api", "https://api.github.com", ""),
	}
}

// check refuses inconsistent GitHub flags before anything is published.
func (g githubFlags) check() error {
	owner, repo, ok := strings.Cut(*g.repo, "/")
	switch {
	case *g.repo == "" && (*g.tag != "" || *g.tokenFile != ""):
		return fmt.Errorf("%w: --tag and --token-file go with --github OWNER/REPO", errUsage)
	case *g.repo == "":
		return nil
	case !ok || owner == "" || repo == "" || strings.Contains(repo, "/"):
		return fmt.Errorf("%w: --github %q: want OWNER/REPO", errUsage, *g.repo)
	case *g.tag == "":
		return fmt.Errorf("%w: --github needs --tag TAG", errUsage)
	}
	return nil
}

// upload puts the channel's current release of the origin folder on GitHub:
// its signing keys, pointer, manifest, blobs and deltas.
func (g githubFlags) upload(ctx context.Context, e *env, origin, channel string) error {
	if *g.repo == "" {
		return nil
	}
	owner, repo, _ := strings.Cut(*g.repo, "/")
	assets, err := github.ReleaseAssets(origin, channel)
	if err != nil {
		return err
	}
	c, err := github.New(config.GitHub{Owner: owner, Repo: repo, APIURL: *g.api, TokenFile: *g.tokenFile},
		github.Options{Version: version, Logger: e.log})
	if err != nil {
		return err
	}
	if err := c.UploadRelease(ctx, owner, repo, *g.tag, assets); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "uploaded %d assets to GitHub release %s of %s\n", len(assets), *g.tag, *g.repo)
	return nil
}
