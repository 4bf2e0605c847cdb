package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/filesphere/filesphere/console"
	"github.com/filesphere/filesphere/iam/oauth"
	"github.com/filesphere/filesphere/internal/connguard"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// consoleFlags are the web console's settings.
type consoleFlags struct {
	address        string
	sessionSeconds int
	url            string
	oauth          bool
}

// consoleClientName is the OAuth client every console keeps registered.
const consoleClientName = "filesphere-console"

func addConsoleFlags(fs *pflag.FlagSet, f *consoleFlags) {
	fs.StringVar(&f.address, "console-address", ":9001", `address the web console listens on ("" for none); over HTTPS when the S3 API is`)
	fs.IntVar(&f.sessionSeconds, "console-session", 0, "seconds a console login lasts (the STS session it holds; 0 = the default: 12 hours for users, 1 hour for the root; a Log in with FileSphere ends with its ID token at the latest)")
	fs.StringVar(&f.url, "console-url", "", "the console's URL as browsers reach it (behind a proxy: the proxy's); its callback is the redirect URI of the console's OAuth client (default: http(s)://<console host>:<port>, 127.0.0.1 for all addresses)")
	fs.BoolVar(&f.oauth, "console-oauth", true, `offer "Log in with FileSphere" on the console (the OAuth client `+consoleClientName+`, registered by each node with its own callback; needs an https or loopback --console-url)`)
}

// clientRegistrar keeps the console's OAuth client registered
// (*oauth.Provider).
type clientRegistrar interface {
	EnsurePublicClient(ctx context.Context, name, redirectURI string) (oauth.Client, error)
}

// consoleServer is the console, bound but not yet serving; nil when
// disabled.
type consoleServer struct {
	srv      *http.Server
	ln       net.Listener
	url      string
	redirect string          // the OAuth callback; "" without Log in with FileSphere
	prov     clientRegistrar // nil without it
}

// newConsole builds the console in front of api, the S3 API handler, and
// binds --console-address. With an OAuth server (prov, whose issuer is
// issuer) it offers "Log in with FileSphere" when its callback can be a
// redirect URI (https, or http on a loopback address).
func newConsole(f serverFlags, api http.Handler, s3Addr net.Addr, t *s3TLS, prov clientRegistrar, issuer string, log *logrus.Entry) (*consoleServer, error) {
	if f.console.address == "" {
		return nil, nil
	}
	cfg := console.DefaultConfig()
	_, port, _ := net.SplitHostPort(s3Addr.String())
	host := ""
	if h, _, err := net.SplitHostPort(f.address); err == nil {
		host = h
	}
	cfg.Region, cfg.S3Endpoint, cfg.SessionSeconds, cfg.Log = f.region, t.scheme()+"://"+net.JoinHostPort(host, port), f.console.sessionSeconds, log
	if f.console.url != "" {
		if u, err := url.Parse(f.console.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("--console-url %q must be an http or https URL without a path", f.console.url)
		}
	}
	ln, err := net.Listen("tcp", f.console.address)
	if err != nil {
		return nil, fmt.Errorf("--console-address: %w", err)
	}
	cs := &consoleServer{ln: ln, url: t.scheme() + "://" + bannerHost(f.console.address, ln.Addr())}
	if f.console.url != "" {
		u, _ := url.Parse(f.console.url)
		cs.url = u.Scheme + "://" + u.Host
	}
	if prov != nil && f.console.oauth {
		redirect := cs.url + console.CallbackPath
		if err := oauth.ValidRedirectURI(redirect); err != nil {
			log.WithError(err).Warn(`console: "Log in with FileSphere" is off; give --console-url an https URL (or a loopback one)`)
		} else {
			cs.redirect, cs.prov = redirect, prov
			cfg.OAuth = &console.OAuthConfig{Issuer: issuer, RedirectURL: redirect, ClientID: cs.clientID}
		}
	}
	c, err := console.New(cfg, api)
	if err != nil {
		ln.Close()
		return nil, err
	}
	cs.srv = &http.Server{Handler: c, MaxHeaderBytes: 1 << 20, ReadHeaderTimeout: f.readHeaderTimeout, IdleTimeout: f.idleTimeout}
	return cs, nil
}

// clientID ensures the console's client admits this console's callback
// and returns its id. It runs at every login, so a client an admin removed
// comes back (--console-oauth=false turns the login off).
func (c *consoleServer) clientID(ctx context.Context) (string, error) {
	cl, err := c.prov.EnsurePublicClient(ctx, consoleClientName, c.redirect)
	return cl.ID, err
}

// serve answers on the console's listener until shutdown. Its connections
// count against the same bound as the S3 listener's (guard; nil for none):
// both draw on the process's open files. With "Log in with FileSphere" it
// registers the console's client in the background (retrying while the
// cluster has no leader), so that it is listed before the first login.
func (c *consoleServer) serve(ctx context.Context, t *s3TLS, guard *connguard.Guard, log *logrus.Entry) {
	if c == nil {
		return
	}
	served := c.ln
	if guard != nil {
		c.srv.ConnState, c.srv.ConnContext, served = guard.ConnState, guard.ConnContext, guard.Listener(c.ln)
	}
	go func() {
		if err := t.serve(c.srv, served); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error("console stopped")
		}
	}()
	log.WithField("address", c.ln.Addr().String()).Info("serving the web console")
	if c.prov != nil {
		go c.register(ctx, log)
	}
}

// register ensures the console's client until it succeeds, the context
// ends, or the registration is refused for good.
func (c *consoleServer) register(ctx context.Context, log *logrus.Entry) {
	wait := time.Second
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		id, err := c.clientID(actx)
		cancel()
		switch {
		case err == nil:
			log.WithFields(logrus.Fields{"client": consoleClientName, "client_id": id, "redirect_uri": c.redirect}).Info("console: OAuth client registered")
			return
		case errors.Is(err, oauth.ErrInvalid), errors.Is(err, oauth.ErrClientExists):
			log.WithError(err).Warn(`console: the OAuth client cannot be registered; "Log in with FileSphere" will fail until it can`)
			return
		}
		log.WithError(err).Debug("console: registering the OAuth client (retrying)")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// bannerHost is the host:port to print for a listener: its configured
// host, or 127.0.0.1 when it listens on every address.
func bannerHost(flag string, addr net.Addr) string {
	host := "127.0.0.1"
	if h, _, err := net.SplitHostPort(flag); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		host = h
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return net.JoinHostPort(host, port)
}

func (c *consoleServer) printBanner() {
	if c == nil {
		return
	}
	how := "log in with an access key and its secret key"
	if c.prov != nil {
		how += `, or "Log in with FileSphere" with a user's password`
	}
	fmt.Printf("FileSphere console: %s (%s)\n", c.url, how)
}

func (c *consoleServer) shutdown(ctx context.Context, drain time.Duration) {
	if c == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, drain)
	defer cancel()
	_ = c.srv.Shutdown(sctx)
}
