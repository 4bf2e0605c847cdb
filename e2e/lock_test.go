package e2e

import (
	"crypto/md5"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// md5File is the Content-MD5 of a file, for `s3api put-object
// --content-md5` (S3 requires a digest on uploads with lock settings).
func md5File(t *testing.T, p string) string {
	t.Helper()
	sum := md5.Sum(readFile(t, p))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wantAWSFail runs a command that must fail with code, naming the command.
func wantAWSFail(t *testing.T, c *harness.Clients, code string, args ...string) {
	t.Helper()
	r := c.AWS(args...)
	if r.Err == nil || !strings.Contains(r.Output, "("+code+")") {
		t.Fatalf("want %s:\n%s", code, r)
	}
}

// versionIDs lists the version ids of key (delete markers apart).
func versionIDs(t *testing.T, c *harness.Clients, bucket, key string) (versions, markers []string) {
	t.Helper()
	var out struct {
		Versions      []struct{ Key, VersionId string }
		DeleteMarkers []struct{ Key, VersionId string }
	}
	jsonInto(t, c.MustAWS("s3api", "list-object-versions", "--bucket", bucket, "--prefix", key), &out)
	for _, v := range out.Versions {
		if v.Key == key {
			versions = append(versions, v.VersionId)
		}
	}
	for _, v := range out.DeleteMarkers {
		if v.Key == key {
			markers = append(markers, v.VersionId)
		}
	}
	return versions, markers
}

// TestObjectLockAWSCLI drives object lock and tagging with the aws cli:
// a lock-enabled bucket with a default retention, per-version retention
// and legal holds, deletes refused while locked, tags on upload, copy and
// per version; then rclone copies into the locked bucket and `rclone
// delete` leaves every version in place.
func TestObjectLockAWSCLI(t *testing.T) {
	harness.RequireTool(t, harness.AWSCLI)
	n := harness.StartNode(t, harness.NodeOptions{Name: "lock"})
	c := n.Clients(t)
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte("write once, read many\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5File(t, small)
	b := harness.BucketName("worm")
	c.MustAWS("s3api", "create-bucket", "--bucket", b, "--object-lock-enabled-for-bucket")
	if v := jsonOut(t, c.MustAWS("s3api", "get-bucket-versioning", "--bucket", b)); v["Status"] != "Enabled" {
		t.Fatalf("lock bucket versioning: %v", v)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)

	t.Run("configuration", func(t *testing.T) {
		c.MustAWS("s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
			`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}`)
		var cfg struct {
			ObjectLockConfiguration struct {
				ObjectLockEnabled string
				Rule              struct {
					DefaultRetention struct {
						Mode string
						Days int
					}
				}
			}
		}
		jsonInto(t, c.MustAWS("s3api", "get-object-lock-configuration", "--bucket", b), &cfg)
		if d := cfg.ObjectLockConfiguration.Rule.DefaultRetention; cfg.ObjectLockConfiguration.ObjectLockEnabled != "Enabled" || d.Mode != "GOVERNANCE" || d.Days != 1 {
			t.Fatalf("get-object-lock-configuration: %+v", cfg)
		}
		wantAWSFail(t, c, "InvalidArgument", "s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
			`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":0}}}`)
		wantAWSFail(t, c, "MalformedXML", "s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
			`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1,"Years":1}}}`)
		wantAWSFail(t, c, "InvalidBucketState", "s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Suspended")
		plain := harness.BucketName("plain")
		c.MustAWS("s3", "mb", "s3://"+plain)
		wantAWSFail(t, c, "ObjectLockConfigurationNotFoundError", "s3api", "get-object-lock-configuration", "--bucket", plain)
		wantAWSFail(t, c, "InvalidBucketState", "s3api", "put-object-lock-configuration", "--bucket", plain, "--object-lock-configuration",
			`{"ObjectLockEnabled":"Enabled"}`)
	})

	t.Run("retention", func(t *testing.T) {
		put := jsonOut(t, c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "comp", "--body", small, "--content-md5", sum,
			"--object-lock-mode", "COMPLIANCE", "--object-lock-retain-until-date", until))
		comp, _ := put["VersionId"].(string)
		r := jsonOut(t, c.MustAWS("s3api", "get-object-retention", "--bucket", b, "--key", "comp", "--version-id", comp))
		if ret, _ := r["Retention"].(map[string]any); ret["Mode"] != "COMPLIANCE" || !strings.HasPrefix(ret["RetainUntilDate"].(string), strings.TrimSuffix(until, "Z")) {
			t.Fatalf("get-object-retention: %v", r)
		}
		wantAWSFail(t, c, "AccessDenied", "s3api", "delete-object", "--bucket", b, "--key", "comp", "--version-id", comp)
		wantAWSFail(t, c, "AccessDenied", "s3api", "delete-object", "--bucket", b, "--key", "comp", "--version-id", comp, "--bypass-governance-retention")
		shorter := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)
		wantAWSFail(t, c, "AccessDenied", "s3api", "put-object-retention", "--bucket", b, "--key", "comp", "--version-id", comp,
			"--retention", "Mode=COMPLIANCE,RetainUntilDate="+shorter)
		// A delete without a version id only adds a delete marker.
		c.MustAWS("s3api", "delete-object", "--bucket", b, "--key", "comp")
		if vs, dms := versionIDs(t, c, b, "comp"); len(vs) != 1 || vs[0] != comp || len(dms) != 1 {
			t.Fatalf("after delete: versions %v markers %v", vs, dms)
		}
		c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "comp", "--version-id", comp, filepath.Join(dir, "comp.out"))

		// The default retention (GOVERNANCE, 1 day) yields to a bypass.
		c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "gov", "--body", small, "--content-md5", sum)
		gov, _ := versionIDs(t, c, b, "gov")
		h := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "gov"))
		if h["ObjectLockMode"] != "GOVERNANCE" {
			t.Fatalf("default retention not applied: %v", h)
		}
		wantAWSFail(t, c, "AccessDenied", "s3api", "delete-object", "--bucket", b, "--key", "gov", "--version-id", gov[0])
		c.MustAWS("s3api", "delete-object", "--bucket", b, "--key", "gov", "--version-id", gov[0], "--bypass-governance-retention")
		// The cli sends the Content-MD5 S3 requires with lock settings by itself.
		c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "cli-md5", "--body", small,
			"--object-lock-mode", "GOVERNANCE", "--object-lock-retain-until-date", until)
	})

	t.Run("legal-hold", func(t *testing.T) {
		c.MustAWS("s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration", `{"ObjectLockEnabled":"Enabled"}`)
		c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "held", "--body", small, "--content-md5", sum)
		vs, _ := versionIDs(t, c, b, "held")
		c.MustAWS("s3api", "put-object-legal-hold", "--bucket", b, "--key", "held", "--version-id", vs[0], "--legal-hold", "Status=ON")
		if lh := jsonOut(t, c.MustAWS("s3api", "get-object-legal-hold", "--bucket", b, "--key", "held", "--version-id", vs[0])); lh["LegalHold"].(map[string]any)["Status"] != "ON" {
			t.Fatalf("get-object-legal-hold: %v", lh)
		}
		wantAWSFail(t, c, "AccessDenied", "s3api", "delete-object", "--bucket", b, "--key", "held", "--version-id", vs[0], "--bypass-governance-retention")
		c.MustAWS("s3api", "put-object-legal-hold", "--bucket", b, "--key", "held", "--version-id", vs[0], "--legal-hold", "Status=OFF")
		c.MustAWS("s3api", "delete-object", "--bucket", b, "--key", "held", "--version-id", vs[0])
		wantAWSFail(t, c, "BucketNotEmpty", "s3api", "delete-bucket", "--bucket", b)
	})

	t.Run("tagging", func(t *testing.T) {
		c.MustAWS("s3api", "put-object", "--bucket", b, "--key", "tagged", "--body", small, "--tagging", "project=worm&tier=gold")
		tags := func(key string, extra ...string) map[string]string {
			var out struct{ TagSet []struct{ Key, Value string } }
			jsonInto(t, c.MustAWS(append([]string{"s3api", "get-object-tagging", "--bucket", b, "--key", key}, extra...)...), &out)
			m := map[string]string{}
			for _, kv := range out.TagSet {
				m[kv.Key] = kv.Value
			}
			return m
		}
		if m := tags("tagged"); len(m) != 2 || m["tier"] != "gold" {
			t.Fatalf("tags from put-object --tagging: %v", m)
		}
		// `s3 cp` between objects copies the tags.
		c.MustAWS("s3", "cp", "s3://"+b+"/tagged", "s3://"+b+"/copied")
		if m := tags("copied"); m["project"] != "worm" {
			t.Fatalf("s3 cp lost the tags: %v", m)
		}
		c.MustAWS("s3api", "put-object-tagging", "--bucket", b, "--key", "tagged", "--tagging", `{"TagSet":[{"Key":"state","Value":"archived"}]}`)
		if m := tags("tagged"); len(m) != 1 || m["state"] != "archived" {
			t.Fatalf("after put-object-tagging: %v", m)
		}
		if g := jsonOut(t, c.MustAWS("s3api", "get-object", "--bucket", b, "--key", "tagged", filepath.Join(dir, "tagged.out"))); g["TagCount"] != float64(1) {
			t.Fatalf("get-object TagCount: %v", g)
		}
		c.MustAWS("s3api", "delete-object-tagging", "--bucket", b, "--key", "tagged")
		if m := tags("tagged"); len(m) != 0 {
			t.Fatalf("after delete-object-tagging: %v", m)
		}
		var eleven []string
		for i := range 11 {
			eleven = append(eleven, `{"Key":"k`+strings.Repeat("x", i)+`","Value":"v"}`)
		}
		wantAWSFail(t, c, "BadRequest", "s3api", "put-object-tagging", "--bucket", b, "--key", "tagged", "--tagging", `{"TagSet":[`+strings.Join(eleven, ",")+`]}`)
		wantAWSFail(t, c, "InvalidTag", "s3api", "put-object-tagging", "--bucket", b, "--key", "tagged", "--tagging",
			`{"TagSet":[{"Key":"`+strings.Repeat("k", 129)+`","Value":"v"}]}`)
		c.MustAWS("s3api", "put-bucket-tagging", "--bucket", b, "--tagging", `{"TagSet":[{"Key":"owner","Value":"storage"}]}`)
		if out := c.MustAWS("s3api", "get-bucket-tagging", "--bucket", b); !strings.Contains(out, `"storage"`) {
			t.Fatalf("get-bucket-tagging: %s", out)
		}
		c.MustAWS("s3api", "delete-bucket-tagging", "--bucket", b)
		wantAWSFail(t, c, "NoSuchTagSet", "s3api", "get-bucket-tagging", "--bucket", b)
	})

	t.Run("rclone", func(t *testing.T) {
		harness.RequireTool(t, harness.Rclone)
		c.MustAWS("s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
			`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}`)
		src := filepath.Join(dir, "tree")
		makeTree(t, src, 12, 1, 6<<20, 5)
		remote := harness.RcloneRemote + ":" + b + "/backup"
		flags := []string{"-q", "--retries", "1", "--low-level-retries", "1", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"}
		c.MustRclone(append([]string{"copy", src, remote}, flags...)...)
		c.MustRclone(append([]string{"check", src, remote}, flags...)...)
		// Every version so far is older than the next whole second, every
		// delete marker newer.
		at := time.Now().Truncate(time.Second).Add(time.Second)
		if err := harness.Eventually(3*time.Second, 20*time.Millisecond, func() error {
			if !time.Now().After(at.Add(10 * time.Millisecond)) {
				return os.ErrDeadlineExceeded
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// rclone delete removes what it can: with versions, a delete
		// marker per file; the locked versions stay.
		c.MustRclone(append([]string{"delete", remote}, flags...)...)
		var out struct {
			Versions []struct {
				Key, VersionId string
				IsLatest       bool
			}
			DeleteMarkers []struct{ Key string }
		}
		jsonInto(t, c.MustAWS("s3api", "list-object-versions", "--bucket", b, "--prefix", "backup/"), &out)
		want := harness.TreeDigest(t, src)
		if len(out.Versions) != len(want) || len(out.DeleteMarkers) != len(want) {
			t.Fatalf("after rclone delete: %d versions, %d delete markers, want %d each", len(out.Versions), len(out.DeleteMarkers), len(want))
		}
		for _, v := range out.Versions {
			h := jsonOut(t, c.MustAWS("s3api", "head-object", "--bucket", b, "--key", v.Key, "--version-id", v.VersionId))
			if h["ObjectLockMode"] != "COMPLIANCE" {
				t.Fatalf("%s has no default retention: %v", v.Key, h)
			}
			wantAWSFail(t, c, "AccessDenied", "s3api", "delete-object", "--bucket", b, "--key", v.Key, "--version-id", v.VersionId, "--bypass-governance-retention")
		}
		// rclone reads them all back as of before the delete.
		back := filepath.Join(dir, "back")
		c.MustRclone(append([]string{"copy", "--s3-version-at", at.UTC().Format(time.RFC3339), remote, back}, flags...)...)
		if d := harness.DiffTrees(want, harness.TreeDigest(t, back)); d != "" {
			t.Fatalf("versions read back differ:\n%s", d)
		}
	})
}
