package s3api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/filesphere/filesphere/internal/s3test"
)

// findDoc is the content lookup's answer.
type findDoc struct {
	XMLName               xml.Name `xml:"FindBySHA256Result"`
	SHA256                string
	MaxKeys, KeyCount     int
	IsTruncated           bool
	NextContinuationToken string
	Objects               []struct {
		Bucket, Key, VersionId string
		IsLatest               bool
		Size                   int64
		LastModified           string
		ChecksumSHA256         string
	} `xml:"Object"`
}

// find runs the lookup as k (root when k is nil), following every
// continuation token, and returns "bucket/key@version" per match.
func (f *fixture) find(t *testing.T, k *key, sum string, extra url.Values) ([]string, int) {
	t.Helper()
	var out []string
	token := ""
	for pages := 1; ; pages++ {
		q := url.Values{"x-filesphere-sha256": {sum}}
		for n, vs := range extra {
			q[n] = vs
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		r := rawReq{method: "GET", query: q}
		if k != nil {
			r = r.as(*k)
		}
		resp, body := f.do(t, r)
		if resp.StatusCode != 200 {
			return []string{string(body)}, resp.StatusCode
		}
		var doc findDoc
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("lookup answer: %v: %s", err, body)
		}
		if doc.SHA256 != strings.ToLower(sum) || doc.KeyCount != len(doc.Objects) {
			t.Fatalf("lookup answer %s", body)
		}
		for _, o := range doc.Objects {
			raw, _ := hex.DecodeString(doc.SHA256)
			if o.ChecksumSHA256 != base64.StdEncoding.EncodeToString(raw) || o.LastModified == "" {
				t.Fatalf("match %+v", o)
			}
			id := o.Bucket + "/" + o.Key + "@" + o.VersionId
			if o.IsLatest {
				id += "*"
			}
			out = append(out, id)
		}
		if !doc.IsTruncated {
			return out, pages
		}
		token = doc.NextContinuationToken
		if pages > 100 {
			t.Fatal("lookup never ends")
		}
	}
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestIntegrationFindBySHA256: the lookup finds every version with the
// content, pages, filters by bucket and prefix, and shows each caller only
// what a GetObject of it would allow: the current version with
// s3:GetObject, any version with s3:GetObjectVersion, nothing without the
// lookup's own action.
func TestIntegrationFindBySHA256(t *testing.T) {
	f := newFixture(t)
	a, b := f.bucket(t), f.bucket(t)
	if _, err := f.sdk.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: &a,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	x, y := []byte("the same bytes"), []byte("other bytes")
	v1 := aws.ToString(f.put(t, a, "dir/k1", x).VersionId)
	old := aws.ToString(f.put(t, a, "k2", x).VersionId)
	f.put(t, a, "k2", y) // k2's x version is now noncurrent
	f.put(t, b, "k3", x)
	f.put(t, b, "k4", y)
	sum := hexSum(x)

	got, _ := f.find(t, nil, sum, nil)
	want := []string{a + "/dir/k1@" + v1 + "*", a + "/k2@" + old, b + "/k3@*"}
	if !slices.Equal(got, want) {
		t.Fatalf("root finds %v, want %v", got, want)
	}
	// Pages of one, and the same in upper case.
	if paged, pages := f.find(t, nil, strings.ToUpper(sum), url.Values{"max-keys": {"1"}}); !slices.Equal(paged, want) || pages < 3 {
		t.Fatalf("paged: %v in %d pages", paged, pages)
	}
	if got, _ := f.find(t, nil, sum, url.Values{"bucket": {b}}); !slices.Equal(got, want[2:]) {
		t.Fatalf("bucket %s: %v", b, got)
	}
	if got, _ := f.find(t, nil, sum, url.Values{"bucket": {a}, "prefix": {"dir/"}}); !slices.Equal(got, want[:1]) {
		t.Fatalf("prefix dir/: %v", got)
	}
	if got, _ := f.find(t, nil, hexSum([]byte("nothing has this")), nil); len(got) != 0 {
		t.Fatalf("unknown content: %v", got)
	}

	find := `{"Effect":"Allow","Action":"filesphere:FindObjectsBySHA256","Resource":"*"}`
	doc := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	reader := f.newUser(t, "reader", doc(find, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+a+`/*"}`))
	versions := f.newUser(t, "versions", doc(find, `{"Effect":"Allow","Action":"s3:GetObjectVersion","Resource":"arn:aws:s3:::`+a+`/*"}`))
	denied := f.newUser(t, "denied", doc(find, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`,
		`{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/k3"}`))
	nofind := f.newUser(t, "nofind", doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	for _, tc := range []struct {
		name string
		k    key
		want []string
	}{
		{"s3:GetObject on one bucket: its current versions", reader, want[:1]},
		{"s3:GetObjectVersion: every version of that bucket", versions, want[:2]},
		{"an explicit deny hides the object", denied, want[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := f.find(t, &tc.k, sum, nil); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			// Paged one match at a time: the refused ones never show.
			if got, _ := f.find(t, &tc.k, sum, url.Values{"max-keys": {"1"}}); !slices.Equal(got, tc.want) {
				t.Fatalf("paged: got %v, want %v", got, tc.want)
			}
		})
	}
	resp, body := f.do(t, rawReq{method: "GET", query: url.Values{"x-filesphere-sha256": {sum}}}.as(nofind))
	wantXMLError(t, resp, body, "AccessDenied", 403)
	resp, body = f.do(t, rawReq{method: "GET", query: url.Values{"x-filesphere-sha256": {sum}}, unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", 403)

	for _, bad := range []url.Values{
		{"x-filesphere-sha256": {"abc"}},
		{"x-filesphere-sha256": {sum}, "max-keys": {"x"}},
		{"x-filesphere-sha256": {sum}, "prefix": {"p"}},
		{"x-filesphere-sha256": {sum}, "delimiter": {"/"}},
		{"x-filesphere-sha256": {sum}, "continuation-token": {"!!"}},
	} {
		resp, body := f.do(t, rawReq{method: "GET", query: bad})
		wantXMLError(t, resp, body, "InvalidArgument", 400)
	}
	resp, body = f.do(t, rawReq{method: "GET", query: url.Values{"x-filesphere-sha256": {sum}, "bucket": {"no-such-bucket-here"}}})
	wantXMLError(t, resp, body, "NoSuchBucket", 404)
	resp, body = f.do(t, rawReq{method: "DELETE", query: url.Values{"x-filesphere-sha256": {sum}}})
	wantXMLError(t, resp, body, "MethodNotAllowed", 405)
}

// TestIntegrationSHA256Precondition: HEAD and GET with the content hash
// as a precondition answer 200 only for that content, 412 otherwise, and
// name the hash they checked.
func TestIntegrationSHA256Precondition(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := randBytes(100<<10, 4)
	f.put(t, b, "obj", body)
	sum := sha256.Sum256(body)
	hexs, b64 := hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:])
	other := hexSum([]byte("x"))
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		status int
		code   string
	}{
		{"HEAD, x-filesphere-if-sha256 matches", "HEAD", http.Header{"X-Filesphere-If-Sha256": {hexs}}, 200, ""},
		{"HEAD, upper-case hex", "HEAD", http.Header{"X-Filesphere-If-Sha256": {strings.ToUpper(hexs)}}, 200, ""},
		{"HEAD, x-amz-checksum-sha256 matches", "HEAD", http.Header{"X-Amz-Checksum-Sha256": {b64}}, 200, ""},
		{"HEAD, both agree", "HEAD", http.Header{"X-Filesphere-If-Sha256": {hexs}, "X-Amz-Checksum-Sha256": {b64}}, 200, ""},
		{"HEAD, other content", "HEAD", http.Header{"X-Filesphere-If-Sha256": {other}}, 412, ""},
		{"HEAD, other content (base64)", "HEAD", http.Header{"X-Amz-Checksum-Sha256": {base64.StdEncoding.EncodeToString(make([]byte, 32))}}, 412, ""},
		{"GET, matches", "GET", http.Header{"X-Filesphere-If-Sha256": {hexs}}, 200, ""},
		{"GET, other content", "GET", http.Header{"X-Filesphere-If-Sha256": {other}}, 412, "PreconditionFailed"},
		{"GET, malformed", "GET", http.Header{"X-Filesphere-If-Sha256": {"zz"}}, 400, "InvalidArgument"},
		{"GET, malformed base64", "GET", http.Header{"X-Amz-Checksum-Sha256": {"AAAA"}}, 400, "InvalidArgument"},
		{"GET, the two disagree", "GET", http.Header{"X-Filesphere-If-Sha256": {other}, "X-Amz-Checksum-Sha256": {b64}}, 400, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := f.do(t, rawReq{method: tc.method, bucket: b, key: "obj", header: tc.header})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.code != "" {
				wantXMLError(t, resp, got, tc.code, tc.status)
				return
			}
			if tc.status == 200 {
				if resp.Header.Get("X-Filesphere-Sha256") != hexs {
					t.Fatalf("x-filesphere-sha256 %q", resp.Header.Get("X-Filesphere-Sha256"))
				}
				if tc.method == "GET" && !bytes.Equal(got, body) {
					t.Fatal("GET body differs")
				}
			}
		})
	}
	// A caller who may not read the object learns nothing from it.
	nobody := f.newUser(t, "nobody")
	resp, got := f.do(t, rawReq{method: "GET", bucket: b, key: "obj", header: http.Header{"X-Filesphere-If-Sha256": {hexs}}}.as(nobody))
	wantXMLError(t, resp, got, "AccessDenied", 403)
	resp, _ = f.do(t, rawReq{method: "HEAD", bucket: b, key: "missing", header: http.Header{"X-Filesphere-If-Sha256": {hexs}}})
	if resp.StatusCode != 404 {
		t.Fatalf("missing object: %d", resp.StatusCode)
	}
}

// tamper rewrites x-amz-checksum-sha256 of every answer: a client that
// validates checksums must then refuse the body.
type tamper struct{ rt http.RoundTripper }

func (tp tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := tp.rt.RoundTrip(r)
	if err == nil && resp.Header.Get("X-Amz-Checksum-Sha256") != "" {
		resp.Header.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	}
	return resp, err
}

// TestIntegrationFullObjectSHA256: a multipart object stored without a
// client checksum answers GET and HEAD in checksum mode with the SHA-256
// of its whole content as a FULL_OBJECT checksum, which aws-sdk-go-v2 and
// minio-go validate on GET (a tampered value makes both fail, so the
// validation is real); not for a part or a range.
func TestIntegrationFullObjectSHA256(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	p1, p2 := randBytes(5*mib, 5), randBytes(1234, 6)
	id := f.createUpload(t, b, "mp")
	if _, err := f.complete(t, b, "mp", id, f.uploadPart(t, b, "mp", id, 1, p1), f.uploadPart(t, b, "mp", id, 2, p2)); err != nil {
		t.Fatal(err)
	}
	whole := slices.Concat(p1, p2)
	sum := sha256.Sum256(whole)
	b64 := base64.StdEncoding.EncodeToString(sum[:])

	head, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("mp"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumSHA256) != b64 || head.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("HEAD %+v %v", head, err)
	}
	out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out.Body); !bytes.Equal(got, whole) || aws.ToString(out.ChecksumSHA256) != b64 {
		t.Fatalf("GET: %d bytes, checksum %q", len(got), aws.ToString(out.ChecksumSHA256))
	}
	mo, err := f.mc.GetObject(ctx(t), b, "mp", minio.GetObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(mo); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("minio-go GET: %d bytes, %v", len(got), err)
	}
	mo.Close()

	// Negative controls: the same GETs with the header tampered fail.
	cfg := f.AWSConfig()
	cfg.HTTPClient = &http.Client{Transport: tamper{f.HTTPClient().Transport}}
	bad := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(f.URL); o.UsePathStyle = true })
	out, err = bad.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp"), ChecksumMode: types.ChecksumModeEnabled})
	if err == nil {
		_, err = io.ReadAll(out.Body)
		out.Body.Close()
	}
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Fatalf("aws-sdk-go-v2 accepted a wrong checksum: %v", err)
	}
	mcBad, err := minio.New(hostOf(f.PlainURL), &minio.Options{Creds: miniocreds.NewStaticV4(f.AccessKey, f.SecretKey, ""),
		Region: s3test.Region, BucketLookup: minio.BucketLookupPath, Transport: tamper{http.DefaultTransport}})
	if err != nil {
		t.Fatal(err)
	}
	mo, err = mcBad.GetObject(ctx(t), b, "mp", minio.GetObjectOptions{Checksum: true})
	if err == nil {
		_, err = io.ReadAll(mo)
		mo.Close()
	}
	if err == nil {
		t.Fatal("minio-go accepted a wrong checksum")
	}

	for _, tc := range []struct {
		name   string
		query  url.Values
		header http.Header
	}{
		{"one part", url.Values{"partNumber": {"1"}}, http.Header{"X-Amz-Checksum-Mode": {"ENABLED"}}},
		{"a range", nil, http.Header{"X-Amz-Checksum-Mode": {"ENABLED"}, "Range": {"bytes=0-9"}}},
		{"checksum mode off", nil, nil},
	} {
		resp, _ := f.do(t, rawReq{method: "GET", bucket: b, key: "mp", query: tc.query, header: tc.header})
		if resp.StatusCode/100 != 2 || resp.Header.Get("X-Amz-Checksum-Sha256") != "" {
			t.Fatalf("%s: %d, x-amz-checksum-sha256 %q", tc.name, resp.StatusCode, resp.Header.Get("X-Amz-Checksum-Sha256"))
		}
		if resp.Header.Get("X-Filesphere-Sha256") != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: x-filesphere-sha256 %q", tc.name, resp.Header.Get("X-Filesphere-Sha256"))
		}
	}
	// A checksum the client chose is the one answered.
	crc, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("crc"), Body: bytes.NewReader([]byte("abc")),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	h2, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("crc"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || h2.ChecksumSHA256 != nil || aws.ToString(h2.ChecksumCRC32C) != aws.ToString(crc.ChecksumCRC32C) {
		t.Fatalf("HEAD of a CRC32C object: %+v %v", h2, err)
	}
}
