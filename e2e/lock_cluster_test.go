package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/e2e/harness"
)

// TestObjectLockCluster3: object lock settings are replicated metadata. A
// COMPLIANCE version written through one node outlives a node restart, a
// leader kill -9 and every attempt by root to delete it (with and without
// the bypass header, through every node and the aws cli); a GOVERNANCE
// retention and a legal hold set through one node are enforced by the
// others.
func TestObjectLockCluster3(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, DrivesPerNode: 2, ECData: 2, ECParity: 1})
	sdk := clusterClients(c)
	ctx := context.Background()
	b := harness.BucketName("wormcluster")
	if _, err := sdk[1].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	body := harness.RandomBytes(300<<10, 42) // on drives, not inline
	sum := md5.Sum(body)
	put, err := sdk[1].PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("comp"), Body: bytes.NewReader(body),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])), ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: &until})
	if err != nil {
		t.Fatal(err)
	}
	comp := aws.ToString(put.VersionId)

	// Through node 2: a plain version, then a GOVERNANCE retention and a
	// legal hold on others.
	putPlain := func(key string) string {
		t.Helper()
		out, err := sdk[2].PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key, Body: bytes.NewReader([]byte(key))})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	gov, held := putPlain("gov"), putPlain("held")
	if _, err := sdk[2].PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("gov"), VersionId: &gov,
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &until}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk[3].PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &b, Key: aws.String("held"), VersionId: &held,
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}

	// enforced checks, through node i, that every lock holds and the
	// locked bytes are intact.
	enforced := func(t *testing.T, i int) {
		t.Helper()
		cl := sdk[i]
		r, err := cl.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &b, Key: aws.String("comp"), VersionId: &comp})
		if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeCompliance || !aws.ToTime(r.Retention.RetainUntilDate).Equal(until) {
			t.Fatalf("%s: retention %+v, %v", c.ID(i), r, err)
		}
		for _, bypass := range []bool{false, true} {
			for key, id := range map[string]string{"comp": comp, "held": held} {
				_, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String(key), VersionId: aws.String(id), BypassGovernanceRetention: aws.Bool(bypass)})
				if errCodeOf(err) != "AccessDenied" {
					t.Fatalf("%s: root deleting %s (bypass %v): %v", c.ID(i), key, bypass, err)
				}
			}
		}
		_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov"), VersionId: &gov})
		if errCodeOf(err) != "AccessDenied" {
			t.Fatalf("%s: deleting the governance version without bypass: %v", c.ID(i), err)
		}
		short := until.Add(-time.Hour)
		_, err = cl.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &b, Key: aws.String("comp"), VersionId: &comp,
			BypassGovernanceRetention: aws.Bool(true), Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: &short}})
		if errCodeOf(err) != "AccessDenied" {
			t.Fatalf("%s: shortening the compliance retention: %v", c.ID(i), err)
		}
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("comp"), VersionId: &comp})
		if err != nil {
			t.Fatalf("%s: reading the locked version: %v", c.ID(i), err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) || out.ObjectLockMode != types.ObjectLockModeCompliance {
			t.Fatalf("%s: locked version reads %d bytes (lock %v), %v", c.ID(i), len(got), out.ObjectLockMode, err)
		}
		// And root with the aws cli.
		cli := c.Node(i).Clients(t)
		wantAWSFail(t, cli, "AccessDenied", "s3api", "delete-object", "--bucket", b, "--key", "comp", "--version-id", comp, "--bypass-governance-retention")
	}
	for i := 1; i <= 3; i++ {
		t.Run(fmt.Sprintf("written-%s", c.ID(i)), func(t *testing.T) { enforced(t, i) })
	}
	if t.Failed() {
		return
	}

	leader, err := c.WaitLeader(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := 1 + leader%3
	t.Run("restart-"+c.ID(follower), func(t *testing.T) {
		if err := c.Restart(follower); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		enforced(t, follower)
	})
	if t.Failed() {
		return
	}

	t.Run("kill-leader-"+c.ID(leader), func(t *testing.T) {
		if err := c.Kill(leader); err != nil {
			t.Fatal(err)
		}
		next, err := c.WaitLeader(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("new leader %s", c.ID(next))
		for _, i := range c.Running() {
			if err := harness.Eventually(30*time.Second, 200*time.Millisecond, func() error {
				_, err := sdk[i].HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b})
				return err
			}); err != nil {
				t.Fatalf("%s after the kill: %v", c.ID(i), err)
			}
			enforced(t, i)
		}
		if err := c.Node(leader).Start(); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		enforced(t, leader)
	})

	// A governance bypass still works, through another node than the one
	// that set the retention; the bucket stays undeletable.
	if _, err := sdk[3].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gov"), VersionId: &gov, BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("bypassed governance delete: %v", err)
	}
	if _, err := sdk[1].DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b}); errCodeOf(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket with locked versions: %v", err)
	}
}

// errCodeOf is the S3 error code of an SDK error, with its status when it
// is an AccessDenied that is not 403 (so a mismatch shows in the message).
func errCodeOf(err error) string {
	st, code := apiStatus(err)
	if code == "AccessDenied" && st != 403 {
		return fmt.Sprintf("AccessDenied with status %d", st)
	}
	return code
}
