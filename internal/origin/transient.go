package origin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// IsTransient reports whether err may go away if the same request is made
// again: a network failure, a stall, a body cut short, a 5xx, 408 or 429
// answer, or an error whose Transient method says so. The answers that will not change (ErrNotFound, ErrNotModified,
// ErrTooLarge, a bad request, a bad redirect or certificate) and context
// cancellation are never transient, nor is an error this package does not
// recognise.
func IsTransient(err error) bool {
	if err == nil || isPermanent(err) {
		return false
	}
	var (
		stall  *StallError
		after  *RetryAfterError
		status *StatusError
		tr     Transient
		netErr net.Error
	)
	switch {
	case errors.As(err, &stall), errors.As(err, &after):
		return true
	case errors.As(err, &tr):
		return tr.Transient()
	case errors.As(err, &status):
		c := status.Code
		return c >= 500 || c == http.StatusRequestTimeout || c == http.StatusTooManyRequests
	case errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &netErr):
		return true
	}
	return false
}

// Transient is an error of another package (an API's status error, say)
// that knows whether the same request may succeed if made again.
type Transient interface {
	error
	Transient() bool
}

func isPermanent(err error) bool {
	for _, e := range []error{
		ErrNotFound, ErrNotModified, ErrTooLarge, ErrInvalidPath, ErrInvalidRequest,
		ErrRange, ErrRedirects, ErrChanged, ErrProtocol, errWrite,
		context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		badCert    x509.CertificateInvalidError
		badHost    x509.HostnameError
		verifyFail *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &badCert) ||
		errors.As(err, &badHost) || errors.As(err, &verifyFail)
}
