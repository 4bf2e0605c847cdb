package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// TestDriveTransitionsReachServerLog: the drives the server opens log their
// own offline and online transitions to the server's logger.
func TestDriveTransitionsReachServerLog(t *testing.T) {
	logger, err := newLogger("text", "info")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logger.SetOutput(&out)
	root := filepath.Join(t.TempDir(), "drive1")
	set, err := openDrives("n1", []string{root}, false, logrus.NewEntry(logger), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	d := set["n1-drive1"]
	if d == nil {
		t.Fatalf("drives opened: %v", set)
	}
	ctx := context.Background()

	// The folder is replaced by a file while the drive is in service.
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "ab/x/0"); !errors.Is(err, drive.ErrOffline) {
		t.Fatalf("stat on a broken drive: %v", err)
	}
	wantLine(t, &out, `level=warning msg="drive offline"`, "drive=n1-drive1")

	// Repaired: the next call probes the folder and brings it back.
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "ab/x/0"); !errors.Is(err, drive.ErrShardNotFound) {
		t.Fatalf("stat after repair: %v", err)
	}
	wantLine(t, &out, `level=info msg="drive online"`, "drive=n1-drive1")
}

// wantLine fails unless one line of out holds all parts.
func wantLine(t *testing.T, out *bytes.Buffer, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(out.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return
		}
	}
	t.Fatalf("no log line with %q in:\n%s", parts, out.String())
}
