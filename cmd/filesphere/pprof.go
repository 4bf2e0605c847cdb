package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/sirupsen/logrus"
)

// pprofBlockRate is the block profile's sampling rate in nanoseconds of
// blocking (one sample per millisecond blocked on average): enough to see
// what requests wait on at a cost too small to move a benchmark.
const pprofBlockRate = int(time.Millisecond)

// pprofMutexFraction samples one in this many contended mutex events.
const pprofMutexFraction = 100

// startPprof serves Go's runtime profiles on addr ("" = off) and turns on
// block and mutex sampling. The endpoints expose runtime internals (stacks,
// memory) without authentication, so the address must be a loopback one.
func startPprof(ctx context.Context, addr string, log *logrus.Entry) error {
	if addr == "" {
		return nil
	}
	if err := checkLoopback(addr); err != nil {
		return fmt.Errorf("--pprof-address: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-address: %w", err)
	}
	runtime.SetBlockProfileRate(pprofBlockRate)
	runtime.SetMutexProfileFraction(pprofMutexFraction)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Warn("pprof listener stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.WithField("address", ln.Addr().String()).Warn("serving Go runtime profiles (unauthenticated, loopback only)")
	return nil
}

// errNotLoopback refuses a profile address other hosts could reach.
var errNotLoopback = errors.New("must be a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)")

// checkLoopback accepts only a host that is a loopback IP or "localhost".
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errNotLoopback
}
