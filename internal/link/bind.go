package link

import (
	"context"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Binder binds the agent's connections, the origin's and its DNS lookups'
// (unless the DNS server is on this machine, like systemd-resolved), to the
// network interface of the cycle's link, so that an update meant for
// the free WiFi never leaves over the paid modem whatever the routing table
// says. On Linux it sets SO_BINDTODEVICE on every socket before it
// connects, which needs root or CAP_NET_RAW; elsewhere binding to an
// interface is an error. An empty interface binds nothing.
type Binder struct {
	mu    sync.Mutex
	iface string
	tr    *http.Transport
}

// Set binds the connections made from now on to iface. Idle connections
// made over another interface are closed, so none is reused.
func (b *Binder) Set(iface string) {
	b.mu.Lock()
	changed := iface != b.iface
	b.iface = iface
	tr := b.tr
	b.mu.Unlock()
	if changed && tr != nil {
		tr.CloseIdleConnections()
	}
}

// Interface returns the interface connections are bound to, or "".
func (b *Binder) Interface() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.iface
}

// Control is a net.Dialer Control function that binds the socket.
func (b *Binder) Control(network, address string, c syscall.RawConn) error {
	iface := b.Interface()
	if iface == "" {
		return nil
	}
	return bindToDevice(c, iface)
}

// Dialer returns a dialer whose sockets, and whose DNS lookups' sockets,
// are bound.
func (b *Binder) Dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: b.Control}
	d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		dd := net.Dialer{Timeout: 10 * time.Second}
		if !localResolver(address) {
			dd.Control = b.Control
		}
		return dd.DialContext(ctx, network, address)
	}}
	return d
}

// localResolver reports whether a DNS server address is on this machine
// (systemd-resolved's 127.0.0.53, dnsmasq on 127.0.0.1): a socket bound to
// a link's interface cannot reach it, and the local resolver sends its own
// queries out as the routing table says.
func localResolver(address string) bool {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Transport returns an HTTP transport like http.DefaultTransport whose
// connections are bound.
func (b *Binder) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = b.Dialer().DialContext
	b.mu.Lock()
	b.tr = tr
	b.mu.Unlock()
	return tr
}
