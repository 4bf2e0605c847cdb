package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/storage"
	"github.com/sirupsen/logrus"
)

// TestAdminVerifyAndDedup runs the admin verbs against the real S3 API
// in-process: dedup enable/status/disable, and verify of a bucket, a
// prefix and everything, whose damage makes the command fail.
func TestAdminVerifyAndDedup(t *testing.T) {
	clearCredentialEnv(t)
	env := s3test.New(t, s3test.WithLogLevel(logrus.WarnLevel))
	ctx := context.Background()
	admin := func(args ...string) (string, error) {
		return runAdmin(t, append(args, "--endpoint", env.PlainURL, "--access-key", env.AccessKey, "--secret-key", env.SecretKey)...)
	}
	if err := env.Engine.CreateBucket(ctx, "photos", storage.CreateBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := admin("dedup", "enable", "photos")
	if err != nil || !strings.Contains(out, "Deduplication of bucket photos: enabled") {
		t.Fatalf("enable: %v\n%s", err, out)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 128<<10) // 2 MiB
	for _, k := range []string{"a/one", "a/two", "b/three"} {
		if _, err := env.Engine.PutObject(ctx, "photos", k, bytes.NewReader(body), storage.PutOptions{Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
	}
	out, err = admin("dedup", "status", "photos", "--json")
	var st storage.DedupStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.Enabled || st.LogicalBytes != 3*int64(len(body)) || st.Ratio < 3 {
		t.Fatalf("status: %v %+v\n%s", err, st, out)
	}
	if out, err = admin("dedup", "status", "photos"); err != nil || !strings.Contains(out, "ratio") {
		t.Fatalf("status table: %v\n%s", err, out)
	}
	if _, err := admin("dedup", "status", "no-such-bucket"); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Fatalf("missing bucket: %v", err)
	}

	out, err = admin("verify", "photos/a/", "--json")
	var rep storage.VerifyReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Checked != 2 || rep.OK != 2 {
		t.Fatalf("verify photos/a/: %v %+v\n%s", err, rep, out)
	}
	if out, err = admin("verify", "--rate", "100MiB"); err != nil || !strings.Contains(out, "ok              3") {
		t.Fatalf("verify all: %v\n%s", err, out)
	}
	if _, err := admin("verify", "nope"); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Fatalf("verify of a missing bucket: %v", err)
	}
	if out, err = admin("dedup", "disable", "photos"); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %v\n%s", err, out)
	}
}
