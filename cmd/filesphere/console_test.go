package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/iam/oauth"
	"github.com/sirupsen/logrus"
)

// registrar records the console's client registrations; the first fail
// calls fail as a cluster without a leader would.
type registrar struct {
	mu    sync.Mutex
	calls []string
	fail  int
}

var errNoLeader = errors.New("no leader yet")

func (r *registrar) EnsurePublicClient(_ context.Context, name, uri string) (oauth.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, name+" "+uri)
	if len(r.calls) <= r.fail {
		return oauth.Client{}, errNoLeader
	}
	return oauth.Client{ID: "fsc-console", Name: name, RedirectURIs: []string{uri}, Public: true}, nil
}

func (r *registrar) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func TestNewConsole(t *testing.T) {
	log := logrus.NewEntry(logrus.New())
	s3Addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	base := serverFlags{address: ":9000", region: "us-east-1", readHeaderTimeout: time.Second}
	off, err := newConsole(base, http.NotFoundHandler(), s3Addr, nil, nil, "", log)
	if err != nil || off != nil {
		t.Fatalf("--console-address \"\": %v %v", off, err)
	}
	f := base
	f.console = consoleFlags{address: "127.0.0.1:0", oauth: true}
	guard, err := newConnGuard(16, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := &registrar{fail: 1}
	c, err := newConsole(f, http.NotFoundHandler(), s3Addr, nil, reg, "http://127.0.0.1:9000", log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.serve(ctx, nil, guard, log)
	defer c.shutdown(context.Background(), time.Second)
	if !strings.HasPrefix(c.url, "http://127.0.0.1:") || c.redirect != c.url+"/api/login/web-identity/callback" {
		t.Fatalf("console URL %s, redirect URI %s", c.url, c.redirect)
	}
	resp, err := http.Get(c.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "FileSphere console") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(c.url + "/api/session")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"webIdentity":true`) {
		t.Fatalf("login options: %s", body)
	}
	// Registered in the background, after the first attempt failed.
	deadline := time.Now().Add(10 * time.Second)
	for len(reg.seen()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := reg.seen(); len(s) != 2 || s[1] != consoleClientName+" "+c.redirect {
		t.Fatalf("registrations %v", s)
	}

	// A taken address is an error, not a silent console-less server.
	f2 := base
	f2.console = consoleFlags{address: c.ln.Addr().String()}
	if _, err = newConsole(f2, http.NotFoundHandler(), s3Addr, nil, nil, "", log); err == nil || !strings.Contains(err.Error(), "--console-address") {
		t.Fatalf("console on a taken port: %v", err)
	}
}

// --console-url names the redirect URI; one that cannot be a redirect URI
// (plain http off loopback) turns "Log in with FileSphere" off, and
// --console-oauth=false does too.
func TestConsoleURL(t *testing.T) {
	log := logrus.NewEntry(logrus.New())
	s3Addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	for _, tc := range []struct {
		url      string
		oauth    bool
		redirect string
		err      bool
	}{
		{"https://console.example.com", true, "https://console.example.com/api/login/web-identity/callback", false},
		{"https://console.example.com:8443/", true, "https://console.example.com:8443/api/login/web-identity/callback", false},
		{"http://10.0.0.5:9001", true, "", false},
		{"http://localhost:9001", true, "http://localhost:9001/api/login/web-identity/callback", false},
		{"https://console.example.com", false, "", false},
		{"https://console.example.com/console", true, "", true},
		{"console.example.com", true, "", true},
	} {
		f := serverFlags{address: ":9000", region: "us-east-1", console: consoleFlags{address: "127.0.0.1:0", url: tc.url, oauth: tc.oauth}}
		c, err := newConsole(f, http.NotFoundHandler(), s3Addr, nil, &registrar{}, "https://s3.example.com", log)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), "--console-url") {
				t.Errorf("%s: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		c.ln.Close()
		if c.redirect != tc.redirect || (c.prov != nil) != (tc.redirect != "") {
			t.Errorf("%s (oauth %v): redirect %q", tc.url, tc.oauth, c.redirect)
		}
	}
}

func TestBannerHost(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4zero, Port: 9001}
	for flag, want := range map[string]string{":9001": "127.0.0.1:9001", "0.0.0.0:9001": "127.0.0.1:9001", "10.0.0.5:9001": "10.0.0.5:9001", "[::]:9001": "127.0.0.1:9001"} {
		if got := bannerHost(flag, addr); got != want {
			t.Errorf("bannerHost(%q) = %s, want %s", flag, got, want)
		}
	}
}
