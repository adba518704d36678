module github.com/ferry-ota/ferry

go 1.26.8

require (
	github.com/cenkalti/backoff/v5 v5.0.3
	github.com/creack/pty v1.1.24
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.20.4
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/rogpeppe/go-internal v1.16.0
	go.bug.st/serial v1.8.0
	golang.org/x/mod v0.43.0
	golang.org/x/sys v0.50.0
)

require golang.org/x/tools v0.52.0 // indirect
