package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestStartConsole(t *testing.T) {
	log := logrus.NewEntry(logrus.New())
	s3Addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	off, err := startConsole(serverFlags{address: ":9000", region: "us-east-1"}, http.NotFoundHandler(), s3Addr, nil, nil, log)
	if err != nil || off != nil {
		t.Fatalf("--console-address \"\": %v %v", off, err)
	}
	f := serverFlags{address: ":9000", region: "us-east-1", console: consoleFlags{address: "127.0.0.1:0"}, readHeaderTimeout: time.Second}
	guard, err := newConnGuard(16, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := startConsole(f, http.NotFoundHandler(), s3Addr, nil, guard, log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.shutdown(context.Background(), time.Second)
	if !strings.HasPrefix(c.url, "http://127.0.0.1:") {
		t.Fatalf("console URL %s", c.url)
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
	// A taken address is an error, not a silent console-less server.
	_, err = startConsole(serverFlags{address: ":9000", region: "us-east-1", console: consoleFlags{address: c.ln.Addr().String()}}, http.NotFoundHandler(), s3Addr, nil, nil, log)
	if err == nil || !strings.Contains(err.Error(), "--console-address") {
		t.Fatalf("console on a taken port: %v", err)
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
