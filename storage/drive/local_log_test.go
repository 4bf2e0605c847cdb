package drive_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// wantLog fails unless hook caught msg at level, tagged with the drive id.
func wantLog(t *testing.T, hook *logtest.Hook, level logrus.Level, msg, driveID string) {
	t.Helper()
	for _, e := range hook.AllEntries() {
		if e.Message == msg && e.Level == level && e.Data["drive"] == driveID && e.Data["component"] == "drive" {
			return
		}
	}
	var got []string
	for _, e := range hook.AllEntries() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	t.Fatalf("no %s %q for drive %s in the log; got %q", level, msg, driveID, got)
}

// TestLocalLogsOfflineAndOnline: a drive's own transitions reach the logger
// it was given, so the server log says why a drive left service.
func TestLocalLogsOfflineAndOnline(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "drive")
	logger, hook := logtest.NewNullLogger()
	clk := newFakeClock()
	cfg := localConfig(t, "disk-3", root)
	cfg.Logger, cfg.Now = logrus.NewEntry(logger), clk.Now
	l, err := drive.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantLog(t, hook, logrus.InfoLevel, "drive online", "disk-3")

	hook.Reset()
	removeAll(t, root)
	writeFile(t, root, "not a dir")
	_, err = l.Stat(ctx, "x")
	wantErr(t, "stat on a broken folder", err, drive.ErrOffline)
	wantLog(t, hook, logrus.WarnLevel, "drive offline", "disk-3")

	hook.Reset()
	removeAll(t, root)
	clk.Advance(time.Second)
	_, err = l.Stat(ctx, "x")
	wantErr(t, "stat after repair", err, drive.ErrShardNotFound)
	wantLog(t, hook, logrus.InfoLevel, "drive online", "disk-3")
}

// TestInstrumentedLogsOfflineAndOnline: the decorator's offline marking is
// logged to its injected logger too.
func TestInstrumentedLogsOfflineAndOnline(t *testing.T) {
	ctx := context.Background()
	logger, hook := logtest.NewNullLogger()
	clk := newFakeClock()
	f := drive.NewFaulty(drive.NewMemory("m1"))
	cfg := drive.DefaultInstrumentedConfig()
	cfg.Logger, cfg.Now, cfg.MaxFailures, cfg.Cooldown = logrus.NewEntry(logger), clk.Now, 1, time.Minute
	d, err := drive.NewInstrumented(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.FailAll(drive.OpStat, drive.ErrOffline)
	_, err = d.Stat(ctx, "x")
	wantErr(t, "failing stat", err, drive.ErrOffline)
	wantLog(t, hook, logrus.WarnLevel, "drive marked offline", "m1")

	f.Clear(drive.OpStat)
	clk.Advance(time.Minute)
	if _, err := d.Info(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = d.Stat(ctx, "x")
	wantErr(t, "stat after cooldown", err, drive.ErrShardNotFound)
	wantLog(t, hook, logrus.InfoLevel, "drive back online", "m1")
}
