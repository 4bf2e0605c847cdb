package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/client"
	"github.com/filesphere/filesphere/iam"
)

// TestFindSHA256AcrossBuckets: find ALIAS --sha256 asks the server's
// index: every bucket, noncurrent versions marked, only what the caller
// may read, and the lookup refused to a caller without its action.
func TestFindSHA256AcrossBuckets(t *testing.T) {
	s := newServer(t)
	c := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
	ctx := context.Background()
	mkBucket(t, c, "one")
	mkBucket(t, c, "two")
	if _, err := s.sdk.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("two"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "one", "a", "backup")
	put(t, s, "two", "b", "backup")
	put(t, s, "two", "b", "changed") // b's backup version is noncurrent
	put(t, s, "two", "c", "backup")
	sum := sha256.Sum256([]byte("backup"))
	hexs := hex.EncodeToString(sum[:])
	found := func(c *cli, path string) ([]string, error) {
		err := c.Find(ctx, path, client.FindOptions{SHA256: hexs, Larger: -1, Smaller: -1})
		var got []string
		for _, r := range decode[client.ObjectInfo](t, c.take()) {
			got = append(got, r.Type+":"+r.Path)
		}
		return got, err
	}
	got, err := found(c, "fs")
	must(t, err)
	if want := []string{"object:fs/one/a", "version:fs/two/b", "object:fs/two/c"}; !slices.Equal(got, want) {
		t.Fatalf("find fs: %v, want %v", got, want)
	}
	if got, err := found(c, "fs/two"); err != nil || !slices.Equal(got, []string{"version:fs/two/b", "object:fs/two/c"}) {
		t.Fatalf("find fs/two: %v %v", got, err)
	}

	// A user who may read bucket one only, and one without the lookup.
	user := func(name, doc string) *cli {
		t.Helper()
		if _, err := s.env.IAM.CreateUser(ctx, iam.CreateUserInput{Name: name}); err != nil {
			t.Fatal(err)
		}
		must(t, s.env.IAM.PutInlinePolicy(ctx, iam.UserEntity(name), "p", doc))
		k, err := s.env.IAM.CreateAccessKey(ctx, name)
		must(t, err)
		u := newCLI(t, s, func(cfg *client.Config) { cfg.JSON = true })
		must(t, u.Aliases().Set(client.Alias{Name: "fs", URL: s.url, Credentials: client.CredentialRef{Kind: client.KindStatic,
			AccessKey: k.AccessKeyID, SecretKey: k.SecretAccessKey}}))
		return u
	}
	reader := user("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"filesphere:FindObjectsBySHA256","Resource":"*"},
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::one/*"}]}`)
	if got, err := found(reader, "fs"); err != nil || !slices.Equal(got, []string{"object:fs/one/a"}) {
		t.Fatalf("reader: %v %v", got, err)
	}
	nolookup := user("nolookup", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	if _, err := found(nolookup, "fs"); err == nil || !strings.Contains(client.Describe(err), "AccessDenied") {
		t.Fatalf("without the lookup action: %v", err)
	}
}
