package console_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/console"
	"github.com/filesphere/filesphere/storage"
)

// escapeKey encodes a key as the application does.
func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(url.PathEscape(p), "+", "%2B")
	}
	return strings.Join(parts, "/")
}

// Bodies above SmallBody stream through unsigned; a multipart upload runs
// through the console like an SDK's; odd keys arrive as they are.
func TestUploadsAndKeysThroughTheConsole(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	b.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	if resp, out := b.do("PUT", "/api/s3/upl", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("CreateBucket: %d %s", resp.StatusCode, out)
	}
	big := make([]byte, 3<<20)
	_, _ = rand.Read(big)
	if resp, out := b.do("PUT", "/api/s3/upl/big.bin", big, nil); resp.StatusCode != 200 {
		t.Fatalf("PutObject of 3 MiB: %d %s", resp.StatusCode, out)
	}
	if resp, out := b.do("GET", "/api/s3/upl/big.bin", nil, nil); resp.StatusCode != 200 || !bytes.Equal(out, big) {
		t.Fatalf("GetObject: %d, %d bytes", resp.StatusCode, len(out))
	}

	// Multipart: two parts of 5 MiB and 1 byte.
	resp, out := b.do("POST", "/api/s3/upl/multi.bin?uploads", nil, nil)
	var created struct{ UploadId string }
	if resp.StatusCode != 200 || xml.Unmarshal(out, &created) != nil || created.UploadId == "" {
		t.Fatalf("CreateMultipartUpload: %d %s", resp.StatusCode, out)
	}
	part1 := make([]byte, 5<<20)
	_, _ = rand.Read(part1)
	var etags []string
	for i, p := range [][]byte{part1, []byte("z")} {
		q := fmt.Sprintf("?partNumber=%d&uploadId=%s", i+1, url.QueryEscape(created.UploadId))
		resp, out := b.do("PUT", "/api/s3/upl/multi.bin"+q, p, nil)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
			t.Fatalf("UploadPart %d: %d %s", i+1, resp.StatusCode, out)
		}
		etags = append(etags, resp.Header.Get("ETag"))
	}
	resp, out = b.do("GET", "/api/s3/upl/multi.bin?uploadId="+url.QueryEscape(created.UploadId), nil, nil)
	if resp.StatusCode != 200 || strings.Count(string(out), "<Part>") != 2 {
		t.Fatalf("ListParts: %d %s", resp.StatusCode, out)
	}
	complete := "<CompleteMultipartUpload>"
	for i, et := range etags {
		complete += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, et)
	}
	complete += "</CompleteMultipartUpload>"
	resp, out = b.do("POST", "/api/s3/upl/multi.bin?uploadId="+url.QueryEscape(created.UploadId), []byte(complete), nil)
	if resp.StatusCode != 200 || !strings.Contains(string(out), "-2&#34;") && !strings.Contains(string(out), `-2"`) {
		t.Fatalf("CompleteMultipartUpload: %d %s", resp.StatusCode, out)
	}
	resp, out = b.do("HEAD", "/api/s3/upl/multi.bin", nil, nil)
	if resp.StatusCode != 200 || resp.ContentLength != 5<<20+1 {
		t.Fatalf("HeadObject: %d %d", resp.StatusCode, resp.ContentLength)
	}

	// A configuration document gets the Content-MD5 S3 requires.
	cors := `<CORSConfiguration><CORSRule><AllowedOrigin>https://a.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`
	if resp, out := b.do("PUT", "/api/s3/upl?cors", []byte(cors), nil); resp.StatusCode != 200 {
		t.Fatalf("PutBucketCors: %d %s", resp.StatusCode, out)
	}
	// A wrong digest the browser gave is checked, not replaced.
	resp, out = b.do("PUT", "/api/s3/upl?cors", []byte(cors), http.Header{"Content-Md5": {"1B2M2Y8AsgTpgAmY7PhCfg=="}})
	wantCode(t, resp, out, 400, "BadDigest")

	for _, key := range []string{"a b/c+d.txt", "ü/ñ?#%.txt", "x/../y", "dir//double", "semi;colon=&.txt"} {
		path := "/api/s3/upl/" + escapeKey(key)
		if resp, out := b.do("PUT", path, []byte(key), nil); resp.StatusCode != 200 {
			t.Fatalf("PutObject %q: %d %s", key, resp.StatusCode, out)
		}
		if resp, out := b.do("GET", path, nil, nil); resp.StatusCode != 200 || string(out) != key {
			t.Fatalf("GetObject %q: %d %s", key, resp.StatusCode, out)
		}
		if _, err := e.s3.Engine.HeadObject(t.Context(), "upl", key, storage.GetOptions{}); err != nil {
			t.Fatalf("key %q stored under another name: %v", key, err)
		}
	}
}

// A shared link is a presigned GET anyone can fetch with a plain client,
// capped at the session's end.
func TestPresignedLinks(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	s := b.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	b.do("PUT", "/api/s3/share", nil, nil)
	key := "reports/Q1 ü+.txt"
	if resp, out := b.do("PUT", "/api/s3/share/"+escapeKey(key), []byte("quarterly"), nil); resp.StatusCode != 200 {
		t.Fatalf("PutObject: %d %s", resp.StatusCode, out)
	}
	presign := func(expires int64) (*http.Response, []byte) {
		body, _ := json.Marshal(map[string]any{"bucket": "share", "key": key, "expiresSeconds": expires})
		return b.do("POST", "/api/presign", body, http.Header{"Content-Type": {"application/json"}})
	}
	resp, out := presign(600)
	var link struct {
		URL     string
		Expires time.Time
		Capped  bool
	}
	if resp.StatusCode != 200 || json.Unmarshal(out, &link) != nil || link.Capped ||
		!strings.HasPrefix(link.URL, e.s3.PlainURL+"/share/reports/Q1%20%C3%BC%2B.txt?") || !strings.Contains(link.URL, "X-Amz-Security-Token=") {
		t.Fatalf("presign: %d %s", resp.StatusCode, out)
	}
	got, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || string(data) != "quarterly" {
		t.Fatalf("fetching the link: %d %s", got.StatusCode, data)
	}
	// Longer than the root's one-hour session: capped at its end.
	resp, out = presign(6 * 3600)
	if resp.StatusCode != 200 || json.Unmarshal(out, &link) != nil || !link.Capped || link.Expires.After(s.Expires) {
		t.Fatalf("capped presign: %d %s (session until %v)", resp.StatusCode, out, s.Expires)
	}
	for _, bad := range []int64{0, -5, 8 * 24 * 3600} {
		resp, out := presign(bad)
		wantCode(t, resp, out, 400, "InvalidRequest")
	}
	// A tampered link is refused by S3.
	bad, _ := http.Get(strings.Replace(link.URL, "Q1", "Q2", 1))
	bad.Body.Close()
	if bad.StatusCode != 403 {
		t.Fatalf("tampered link: %d", bad.StatusCode)
	}
}

func TestStaticPagesAndUnknownAPIs(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	resp, out := b.do("GET", "/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(out), "<html") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("index: %d %v %s", resp.StatusCode, resp.Header, out)
	}
	for _, p := range []string{"/app.js", "/style.css"} {
		if resp, _ := b.do("GET", p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := b.do("GET", "/nope.js", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown file: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/../console.go", nil, nil); resp.StatusCode != 404 {
		t.Errorf("escape: %d", resp.StatusCode)
	}
	resp, out = b.do("GET", "/api/nothing", nil, nil)
	wantCode(t, resp, out, 404, "NotFound")
	resp, out = b.do("GET", "/api/login/web-identity", nil, nil)
	wantCode(t, resp, out, 404, "NotEnabled")
}

func TestBusyConsoleRefusesSmallBodiesBeyondItsMemory(t *testing.T) {
	e := newEnv(t, func(c *console.Config) { c.SmallBody, c.BufferMemory = 1000, 1000 })
	b := e.browser(t)
	b.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	b.do("PUT", "/api/s3/mem", nil, nil)
	if resp, out := b.do("PUT", "/api/s3/mem/small", make([]byte, 1000), nil); resp.StatusCode != 200 {
		t.Fatalf("PutObject at the bound: %d %s", resp.StatusCode, out)
	}
	if resp, out := b.do("PUT", "/api/s3/mem/streamed", make([]byte, 1001), nil); resp.StatusCode != 200 {
		t.Fatalf("PutObject above SmallBody: %d %s", resp.StatusCode, out)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, f := range map[string]func(*console.Config){
		"no region":     func(c *console.Config) { c.Region = "" },
		"bad endpoint":  func(c *console.Config) { c.S3Endpoint = "ftp://x" },
		"endpoint path": func(c *console.Config) { c.S3Endpoint = "http://x:1/p" },
		"no sessions":   func(c *console.Config) { c.MaxSessions = 0 },
		"small memory":  func(c *console.Config) { c.BufferMemory = 1 },
		"long shares":   func(c *console.Config) { c.MaxShareExpiry = 8 * 24 * time.Hour },
		"no clock":      func(c *console.Config) { c.Now = nil },
	} {
		c := console.DefaultConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := console.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// Forwarded answers are never stored by the browser; an object's own
// Cache-Control reaches the application in its own header.
func TestForwardedAnswersAreNotCached(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	b.mustLogin(e.s3.AccessKey, e.s3.SecretKey)
	b.do("PUT", "/api/s3/cache", nil, nil)
	b.do("PUT", "/api/s3/cache/plain", []byte("p"), nil)
	b.do("PUT", "/api/s3/cache/cached", []byte("c"), http.Header{"Cache-Control": {"max-age=3600"}})
	resp, _ := b.do("GET", "/api/s3/cache/plain", nil, nil)
	if resp.Header.Get("Cache-Control") != "private, no-store" || resp.Header.Get("X-Filesphere-Object-Cache-Control") != "" {
		t.Errorf("plain object: %v", resp.Header)
	}
	resp, _ = b.do("HEAD", "/api/s3/cache/cached", nil, nil)
	if resp.Header.Get("Cache-Control") != "private, no-store" || resp.Header.Get("X-Filesphere-Object-Cache-Control") != "max-age=3600" {
		t.Errorf("object with Cache-Control: %v", resp.Header)
	}
	resp, _ = b.do("GET", "/api/s3/cache/missing", nil, nil)
	if resp.StatusCode != 404 || resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("error answer: %d %v", resp.StatusCode, resp.Header)
	}
}
