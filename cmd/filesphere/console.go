package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/filesphere/filesphere/console"
	"github.com/filesphere/filesphere/internal/connguard"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// consoleFlags are the web console's settings.
type consoleFlags struct {
	address        string
	sessionSeconds int
}

func addConsoleFlags(fs *pflag.FlagSet, f *consoleFlags) {
	fs.StringVar(&f.address, "console-address", ":9001", `address the web console listens on ("" for none); over HTTPS when the S3 API is`)
	fs.IntVar(&f.sessionSeconds, "console-session", 0, "seconds a console login lasts (the STS session it holds; 0 = the default: 12 hours for users, 1 hour for the root)")
}

// consoleServer is the running console, nil when disabled.
type consoleServer struct {
	srv *http.Server
	ln  net.Listener
	url string
}

// startConsole listens on --console-address and serves the console in
// front of api, the S3 API handler, until shutdown. Its connections count
// against the same bound as the S3 listener's (guard; nil for none): both
// draw on the process's open files.
func startConsole(f serverFlags, api http.Handler, s3Addr net.Addr, t *s3TLS, guard *connguard.Guard, log *logrus.Entry) (*consoleServer, error) {
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
	c, err := console.New(cfg, api)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.console.address)
	if err != nil {
		return nil, fmt.Errorf("--console-address: %w", err)
	}
	srv := &http.Server{Handler: c, MaxHeaderBytes: 1 << 20, ReadHeaderTimeout: f.readHeaderTimeout, IdleTimeout: f.idleTimeout}
	cs := &consoleServer{srv: srv, ln: ln, url: t.scheme() + "://" + bannerHost(f.console.address, ln.Addr())}
	served := ln
	if guard != nil {
		srv.ConnState, srv.ConnContext, served = guard.ConnState, guard.ConnContext, guard.Listener(ln)
	}
	go func() {
		if err := t.serve(srv, served); err != nil && err != http.ErrServerClosed {
			log.WithError(err).Error("console stopped")
		}
	}()
	log.WithField("address", ln.Addr().String()).Info("serving the web console")
	return cs, nil
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
	if c != nil {
		fmt.Printf("FileSphere console: %s (log in with an access key and its secret key)\n", c.url)
	}
}

func (c *consoleServer) shutdown(ctx context.Context, drain time.Duration) {
	if c == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, drain)
	defer cancel()
	_ = c.srv.Shutdown(sctx)
}
