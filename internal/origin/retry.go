package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/ferry-ota/ferry/internal/config"
)

// RetryPolicy says how often and how patiently to retry a transient error.
type RetryPolicy struct {
	Retries int           // attempts after the first (config http_retries); 0: no retry
	Initial time.Duration // first wait (config backoff_sec)
	Max     time.Duration // cap on every wait, Retry-After included (config max_backoff_sec)
	Logger  *slog.Logger  // where retries are logged; nil means slog.Default()
}

// PolicyFromConfig returns the retry policy of the agent's configuration.
func PolicyFromConfig(c *config.Config) RetryPolicy {
	return RetryPolicy{
		Retries: c.HTTPRetries,
		Initial: time.Duration(c.BackoffSec) * time.Second,
		Max:     time.Duration(c.MaxBackoffSec) * time.Second,
	}
}

// retrier counts attempts and computes waits: capped exponential backoff
// (doubling, ±50% jitter) from cenkalti/backoff, or the server's
// Retry-After, never more than Max.
type retrier struct {
	p       RetryPolicy
	b       *backoff.ExponentialBackOff
	attempt int // failed attempts so far
}

func newRetrier(p RetryPolicy) *retrier {
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.Initial,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         p.Max,
	}
	b.Reset()
	return &retrier{p: p, b: b}
}

// wait records a failed attempt and returns how long to wait before the
// next one, or false when err is not transient or the retries are spent.
func (r *retrier) wait(err error) (time.Duration, bool) {
	r.attempt++
	if !IsTransient(err) || r.attempt > r.p.Retries {
		return 0, false
	}
	d := r.b.NextBackOff()
	var after *RetryAfterError
	if errors.As(err, &after) {
		d = after.Wait
	}
	return min(d, r.p.Max), true
}

// progress resets the count after an attempt that moved the transfer on.
func (r *retrier) progress() {
	r.attempt = 0
	r.b.Reset()
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// retrySource is a Source decorated by WithRetry.
type retrySource struct {
	src Source
	p   RetryPolicy
}

// WithRetry returns a Source that retries src.Fetch on transient errors
// (IsTransient): network failures, stalls, 5xx, and 429/503 after the
// server's Retry-After (capped at p.Max). ErrNotFound, ErrNotModified and
// ErrTooLarge return at once, and so does a cancelled context. Each retry
// is logged at Warn level. Only opening the file is retried: for a transfer
// that resumes when the body breaks, use Download.
func WithRetry(src Source, p RetryPolicy) Source {
	return &retrySource{src: src, p: p}
}

// Fetch opens req.Path, retrying transient failures.
func (s *retrySource) Fetch(ctx context.Context, req Request) (*Object, error) {
	r := newRetrier(s.p)
	for {
		obj, err := s.src.Fetch(ctx, req)
		if err == nil {
			return obj, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		d, ok := r.wait(err)
		if !ok {
			return nil, giveUp(r, err)
		}
		r.p.Logger.Warn("origin: retrying", "path", req.Path, "attempt", r.attempt, "wait", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("origin: fetch %q: %w", req.Path, err)
		}
	}
}

// Retry calls attempt until it succeeds, under p: a transient error
// (IsTransient) is retried after a capped exponential backoff with jitter,
// or after the server's Retry-After, at most p.Retries times in a row; an
// attempt that reports progress (it moved a transfer on) starts the count
// again. Any other error returns at once, and so does a cancelled ctx. When
// the retries are spent the error wraps ErrRetriesExhausted and the last
// attempt's error. Each retry is logged at Warn level with what (a path or
// URL). It is the loop of WithRetry and Download, for callers that are not
// a Source (package github's API requests).
func Retry(ctx context.Context, p RetryPolicy, what string, attempt func(ctx context.Context) (progress bool, err error)) error {
	r := newRetrier(p)
	for {
		progress, err := attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if progress {
			r.progress()
		}
		d, ok := r.wait(err)
		if !ok {
			return giveUp(r, err)
		}
		r.p.Logger.Warn("origin: retrying", "path", what, "attempt", r.attempt, "wait", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			return fmt.Errorf("origin: %s: %w", what, err)
		}
	}
}

// giveUp says how many attempts an error survived.
func giveUp(r *retrier, err error) error {
	if r.attempt <= 1 || !IsTransient(err) {
		return err
	}
	return fmt.Errorf("%w: giving up after %d attempts: %w", ErrRetriesExhausted, r.attempt, err)
}
