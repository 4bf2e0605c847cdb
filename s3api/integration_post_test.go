package s3api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/internal/s3test"
)

// field is one form field.
type field struct{ name, value string }

// postForm is an HTML form upload as a browser sends it.
type postForm struct {
	fields   []field // before the file, in order
	file     []byte
	filename string
	noFile   bool
	after    []field // after the file (S3 ignores them)
}

// body encodes the form as multipart/form-data.
func (p postForm) body(t *testing.T) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range p.fields {
		if err := w.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if !p.noFile {
		fw, err := w.CreateFormFile("file", p.filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p.file)
	}
	for _, f := range p.after {
		if err := w.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return &b, w.FormDataContentType()
}

// tSign is hex(HMAC(signing key, policy)), written for the tests apart
// from sigv4's own code.
func tSign(secret, date, policy string) string {
	h := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	key := h(h(h(h([]byte("AWS4"+secret), date), s3test.Region), "s3"), "aws4_request")
	return hex.EncodeToString(h(key, policy))
}

// signing says how a test form is signed.
type signing struct {
	expires time.Time // default an hour from now
	secret  string    // default the Env's
	access  string    // default the Env's
	omit    string    // a signature field left out
	tamper  bool      // sign one policy, send another
}

// signed returns fields followed by the SigV4 fields and the policy
// of conds (the signature fields' own conditions added).
func (f *fixture) signed(fields []field, s signing, conds ...any) []field {
	now := time.Now().UTC()
	if s.expires.IsZero() {
		s.expires = now.Add(time.Hour)
	}
	if s.secret == "" {
		s.secret = f.SecretKey
	}
	if s.access == "" {
		s.access = f.AccessKey
	}
	date, amzDate := now.Format("20060102"), now.Format("20060102T150405Z")
	cred := s.access + "/" + date + "/" + s3test.Region + "/s3/aws4_request"
	conds = append(conds, map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]string{"x-amz-credential": cred}, map[string]string{"x-amz-date": amzDate})
	doc, _ := json.Marshal(map[string]any{"expiration": s.expires.Format("2006-01-02T15:04:05.000Z"), "conditions": conds})
	policy := base64.StdEncoding.EncodeToString(doc)
	sig := tSign(s.secret, date, policy)
	if s.tamper {
		doc, _ := json.Marshal(map[string]any{"expiration": s.expires.Format("2006-01-02T15:04:05.000Z"), "conditions": []any{}})
		policy = base64.StdEncoding.EncodeToString(doc)
	}
	out := append([]field{}, fields...)
	for _, fl := range []field{{"x-amz-algorithm", "AWS4-HMAC-SHA256"}, {"x-amz-credential", cred},
		{"x-amz-date", amzDate}, {"policy", policy}, {"x-amz-signature", sig}} {
		if fl.name != s.omit {
			out = append(out, fl)
		}
	}
	return out
}

// postRaw sends a body to the bucket as a POST.
func (f *fixture) postRaw(t *testing.T, bucket string, body io.Reader, ctype string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, f.PlainURL+"/"+bucket, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST body: %v", err)
	}
	return resp, b
}

// noRedirect shows a client the 303 itself.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (f *fixture) post(t *testing.T, bucket string, p postForm) (*http.Response, []byte) {
	t.Helper()
	b, ctype := p.body(t)
	return f.postRaw(t, bucket, b, ctype, nil)
}

// anyKey and the others are conditions the success cases share.
var (
	anyKey  = []any{"starts-with", "$key", ""}
	anyType = []any{"starts-with", "$Content-Type", ""}
)

// TestIntegrationPostUpload covers the success paths of browser-based
// uploads: each success_action_*, ${filename}, metadata and content type,
// checksums, case-insensitive field names, fields after the file.
func TestIntegrationPostUpload(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	data := randBytes(100_000, 71)
	type check func(t *testing.T, resp *http.Response, body []byte)
	status := func(code int) check {
		return func(t *testing.T, resp *http.Response, body []byte) {
			if resp.StatusCode != code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, code, body)
			}
		}
	}
	tests := []struct {
		name   string
		key    string // the key the object must be stored under
		form   func() postForm
		checks []check
	}{
		{"default 204", "plain.bin", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "plain.bin"}}, signing{}, map[string]string{"bucket": b}, anyKey), file: data}
		}, []check{status(204), func(t *testing.T, resp *http.Response, _ []byte) {
			if resp.Header.Get("Etag") != quoted(md5Hex(data)) {
				t.Errorf("ETag %q", resp.Header.Get("Etag"))
			}
			if want := f.PlainURL + "/" + b + "/plain.bin"; resp.Header.Get("Location") != want {
				t.Errorf("Location %q, want %q", resp.Header.Get("Location"), want)
			}
		}}},
		{"success_action_status 200", "s200", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "s200"}, {"success_action_status", "200"}}, signing{},
				anyKey, map[string]string{"success_action_status": "200"}), file: data}
		}, []check{status(200), func(t *testing.T, _ *http.Response, body []byte) {
			if len(body) != 0 {
				t.Errorf("body %q", body)
			}
		}}},
		{"success_action_status 201", "dir/s 201", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "dir/s 201"}, {"success_action_status", "201"}}, signing{},
				anyKey, []any{"eq", "$success_action_status", "201"}), file: data}
		}, []check{status(201), func(t *testing.T, resp *http.Response, body []byte) {
			var pr struct {
				XMLName                     xml.Name `xml:"PostResponse"`
				Location, Bucket, Key, ETag string
			}
			if err := xml.Unmarshal(body, &pr); err != nil {
				t.Fatalf("201 body: %v: %s", err, body)
			}
			if pr.Bucket != b || pr.Key != "dir/s 201" || pr.ETag != quoted(md5Hex(data)) ||
				pr.Location != f.PlainURL+"/"+b+"/dir%2Fs%20201" || resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("PostResponse %+v (%s)", pr, resp.Header.Get("Content-Type"))
			}
		}}},
		{"unknown success_action_status is 204", "s299", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "s299"}, {"success_action_status", "299"}}, signing{},
				anyKey, []any{"starts-with", "$success_action_status", ""}), file: data}
		}, []check{status(204)}},
		{"success_action_redirect", "redirected", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "redirected"}, {"success_action_redirect", "https://app.example.com/done?x=1"}},
				signing{}, anyKey, map[string]string{"success_action_redirect": "https://app.example.com/done?x=1"}), file: data}
		}, []check{status(303), func(t *testing.T, resp *http.Response, _ []byte) {
			want := "https://app.example.com/done?x=1&bucket=" + b + "&key=redirected&etag=" + url.QueryEscape(quoted(md5Hex(data)))
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("Location %q, want %q", got, want)
			}
		}}},
		{"an unusable redirect is ignored", "badredirect", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "badredirect"}, {"success_action_redirect", "javascript:alert(1)"}},
				signing{}, anyKey, []any{"starts-with", "$success_action_redirect", ""}), file: data}
		}, []check{status(204)}},
		{"${filename} and metadata", "uploads/photo one.jpg", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "uploads/${filename}"}, {"Content-Type", "image/jpeg"},
				{"x-amz-meta-uuid", "14365123651274"}, {"Cache-Control", "max-age=60"}, {"x-amz-meta-tag", ""}}, signing{},
				[]any{"starts-with", "$key", "uploads/"}, []any{"starts-with", "$Content-Type", "image/"},
				map[string]string{"x-amz-meta-uuid": "14365123651274"}, []any{"starts-with", "$x-amz-meta-tag", ""},
				map[string]string{"cache-control": "max-age=60"}),
				file: data, filename: "photo one.jpg"}
		}, []check{status(204), func(t *testing.T, _ *http.Response, _ []byte) {
			out, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: ptr("uploads/photo one.jpg")})
			if err != nil {
				t.Fatal(err)
			}
			if *out.ContentType != "image/jpeg" || out.Metadata["uuid"] != "14365123651274" || *out.CacheControl != "max-age=60" {
				t.Errorf("stored %s %v %s", *out.ContentType, out.Metadata, *out.CacheControl)
			}
		}}},
		{"field names are case-insensitive", "CaseKey", func() postForm {
			fs := f.signed([]field{{"KEY", "CaseKey"}, {"CONTENT-TYPE", "text/plain"}}, signing{}, anyKey, anyType)
			for i := range fs {
				if strings.HasPrefix(fs[i].name, "x-amz-") || fs[i].name == "policy" {
					fs[i].name = strings.ToUpper(fs[i].name[:1]) + fs[i].name[1:]
				}
			}
			return postForm{fields: fs, file: data}
		}, []check{status(204)}},
		{"checksum fields verified", "summed", func() postForm {
			sum := base64.StdEncoding.EncodeToString(sha256sum(data))
			return postForm{fields: f.signed([]field{{"key", "summed"}, {"x-amz-checksum-algorithm", "SHA256"},
				{"x-amz-checksum-sha256", sum}, {"Content-MD5", contentMD5(data)}}, signing{}, anyKey,
				[]any{"eq", "$x-amz-checksum-algorithm", "SHA256"}, []any{"eq", "$x-amz-checksum-sha256", sum},
				[]any{"starts-with", "$content-md5", ""}), file: data}
		}, []check{status(204), func(t *testing.T, resp *http.Response, _ []byte) {
			sum := base64.StdEncoding.EncodeToString(sha256sum(data))
			if resp.Header.Get("X-Amz-Checksum-Sha256") != sum {
				t.Errorf("answer checksum %q", resp.Header.Get("X-Amz-Checksum-Sha256"))
			}
			out, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: ptr("summed"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil || out.ChecksumSHA256 == nil || *out.ChecksumSHA256 != sum {
				t.Errorf("stored checksum: %v %v", err, out)
			}
		}}},
		{"checksum algorithm computed", "crc32c", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "crc32c"}, {"x-amz-checksum-algorithm", "CRC32C"}}, signing{},
				anyKey, []any{"starts-with", "$x-amz-checksum-algorithm", ""}), file: data}
		}, []check{status(204), func(t *testing.T, resp *http.Response, _ []byte) {
			want := base64.StdEncoding.EncodeToString(sumOf("CRC32C", data))
			if resp.Header.Get("X-Amz-Checksum-Crc32c") != want {
				t.Errorf("CRC32C %q, want %q", resp.Header.Get("X-Amz-Checksum-Crc32c"), want)
			}
		}}},
		{"size within content-length-range, acl private, STANDARD", "ranged", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "ranged"}, {"acl", "private"}, {"x-amz-storage-class", "STANDARD"}},
				signing{}, anyKey, []any{"content-length-range", len(data), len(data)}, map[string]string{"acl": "private"},
				map[string]string{"x-amz-storage-class": "STANDARD"}), file: data}
		}, []check{status(204)}},
		{"fields after the file are ignored", "after", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "after"}}, signing{}, anyKey), file: data,
				after: []field{{"submit", "Upload"}, {"x-amz-meta-late", "ignored"}, {"acl", "public-read"}}}
		}, []check{status(204), func(t *testing.T, _ *http.Response, _ []byte) {
			out, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: ptr("after")})
			if err != nil || len(out.Metadata) != 0 {
				t.Errorf("late fields stored: %v %v", err, out.Metadata)
			}
		}}},
		{"x-ignore- fields need no condition", "ignored", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "ignored"}, {"x-ignore-note", "anything"}}, signing{}, anyKey), file: data}
		}, []check{status(204)}},
		{"an empty file", "empty", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "empty"}}, signing{}, anyKey), file: nil}
		}, []check{status(204)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, b, tc.form())
			for _, c := range tc.checks {
				c(t, resp, body)
			}
			got := f.get(t, b, tc.key)
			if want := tc.form().file; !bytes.Equal(got, want) {
				t.Fatalf("stored %d bytes, sent %d", len(got), len(want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sha256sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// TestIntegrationPostRefused covers every way a form is refused: the
// documented status and code, a precise message, and nothing stored.
func TestIntegrationPostRefused(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	shards := f.ShardCount(t)
	defer func() {
		if n := f.ShardCount(t); n != shards {
			t.Errorf("refused forms left %d shards", n-shards)
		}
	}()
	data := []byte("the file of a refused form")
	k := func(key string) []field { return []field{{"key", key}} }
	many := k("many")
	for i := range 300 {
		many = append(many, field{fmt.Sprintf("x-ignore-%d", i), "v"})
	}
	tests := []struct {
		name, key string
		form      func() postForm
		status    int
		code      string
		msg       string // a part of the message
	}{
		{"expired", "expired", func() postForm {
			return postForm{fields: f.signed(k("expired"), signing{expires: time.Now().Add(-time.Minute)}, anyKey), file: data}
		}, 403, "AccessDenied", "Invalid according to Policy: Policy expired."},
		{"eq mismatch", "eq", func() postForm {
			return postForm{fields: f.signed(k("eq"), signing{}, []any{"eq", "$key", "other"}), file: data}
		}, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["eq", "$key", "other"]`},
		{"exact match mismatch", "exact", func() postForm {
			return postForm{fields: f.signed(k("exact"), signing{}, map[string]string{"key": "other"}), file: data}
		}, 403, "AccessDenied", `Policy Condition failed: ["eq", "$key", "other"]`},
		{"starts-with mismatch", "starts", func() postForm {
			return postForm{fields: f.signed(k("starts"), signing{}, []any{"starts-with", "$key", "user/eric/"}), file: data}
		}, 403, "AccessDenied", `Policy Condition failed: ["starts-with", "$key", "user/eric/"]`},
		{"${filename} is substituted before the check", "uploads/evil.exe", func() postForm {
			return postForm{fields: f.signed(k("uploads/${filename}"), signing{}, []any{"starts-with", "$key", "uploads/"},
				[]any{"eq", "$key", "uploads/photo.jpg"}), file: data, filename: "evil.exe"}
		}, 403, "AccessDenied", `Policy Condition failed: ["eq", "$key", "uploads/photo.jpg"]`},
		{"bucket condition", "otherbucket", func() postForm {
			return postForm{fields: f.signed(k("otherbucket"), signing{}, anyKey, map[string]string{"bucket": "another"}), file: data}
		}, 403, "AccessDenied", `Policy Condition failed: ["eq", "$bucket", "another"]`},
		{"a bucket field cannot stand for the bucket", "bucketfield", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "bucketfield"}, {"bucket", "another"}}, signing{}, anyKey,
				map[string]string{"bucket": "another"}), file: data}
		}, 403, "AccessDenied", `Policy Condition failed: ["eq", "$bucket", "another"]`},
		{"content-type list", "types", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "types"}, {"Content-Type", "image/png, text/html"}}, signing{},
				anyKey, []any{"starts-with", "$Content-Type", "image/"}), file: data}
		}, 403, "AccessDenied", `["starts-with", "$content-type", "image/"]`},
		{"a field the policy does not name", "extra", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "extra"}, {"x-amz-meta-extra", "1"}}, signing{}, anyKey), file: data}
		}, 403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-extra"},
		{"too large", "large", func() postForm {
			return postForm{fields: f.signed(k("large"), signing{}, anyKey, []any{"content-length-range", 0, len(data) - 1}), file: data}
		}, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"},
		{"too small", "small", func() postForm {
			return postForm{fields: f.signed(k("small"), signing{}, anyKey, []any{"content-length-range", len(data) + 1, 1 << 20}), file: data}
		}, 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"},
		{"bad signature", "badsig", func() postForm {
			return postForm{fields: f.signed(k("badsig"), signing{secret: "not-the-secret"}, anyKey), file: data}
		}, 403, "SignatureDoesNotMatch", ""},
		{"policy other than the signed one", "tampered", func() postForm {
			return postForm{fields: f.signed(k("tampered"), signing{tamper: true}, anyKey), file: data}
		}, 403, "SignatureDoesNotMatch", ""},
		{"unknown credential", "unknown", func() postForm {
			return postForm{fields: f.signed(k("unknown"), signing{access: "AKIDUNKNOWN"}, anyKey), file: data}
		}, 403, "InvalidAccessKeyId", ""},
		{"signature field missing", "nodate", func() postForm {
			return postForm{fields: f.signed(k("nodate"), signing{omit: "x-amz-date"}, anyKey), file: data}
		}, 400, "InvalidArgument", "Bucket POST must contain a field named 'x-amz-date'."},
		{"unsigned", "anon", func() postForm {
			return postForm{fields: k("anon"), file: data}
		}, 403, "AccessDenied", ""},
		{"Signature Version 2", "v2", func() postForm {
			return postForm{fields: []field{{"key", "v2"}, {"AWSAccessKeyId", f.AccessKey}, {"policy", "e30="}, {"signature", "abc="}}, file: data}
		}, 400, "InvalidArgument", "Signature Version 2"},
		{"file not last: key after it", "late-key", func() postForm {
			return postForm{fields: f.signed(nil, signing{}, anyKey), file: data, after: k("late-key")}
		}, 400, "InvalidArgument", "Bucket POST must contain a field named 'key'."},
		{"no file", "nofile", func() postForm {
			return postForm{fields: f.signed(k("nofile"), signing{}, anyKey), noFile: true}
		}, 400, "IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request."},
		{"fields over 20 KB", "big-fields", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "big-fields"}, {"x-ignore-pad", strings.Repeat("p", 21<<10)}}, signing{}, anyKey), file: data}
		}, 400, "MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large."},
		{"too many fields", "many", func() postForm {
			return postForm{fields: f.signed(many, signing{}, anyKey), file: data}
		}, 400, "InvalidArgument", "at most 256 fields"},
		{"a field twice", "twice", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "twice"}, {"Key", "twice"}}, signing{}, anyKey), file: data}
		}, 400, "InvalidArgument", "more than once"},
		{"ACL not built", "public", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "public"}, {"acl", "public-read"}}, signing{}, anyKey, map[string]string{"acl": "public-read"}), file: data}
		}, 501, "NotImplemented", "A form field you provided implies functionality that is not implemented: FileSphere does not support ACLs other than the owner's full control (acl: public-read)."},
		{"ACL unknown", "badacl", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "badacl"}, {"acl", "everyone"}}, signing{}, anyKey), file: data}
		}, 400, "InvalidArgument", "The value of the acl form field is not valid."},
		{"tagging not built", "tagged", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "tagged"}, {"tagging", "<Tagging><TagSet></TagSet></Tagging>"}}, signing{}, anyKey,
				[]any{"starts-with", "$tagging", ""}), file: data}
		}, 501, "NotImplemented", "object tagging on POST uploads (tagging)"},
		{"server-side encryption not built", "sse", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "sse"}, {"x-amz-server-side-encryption", "AES256"}}, signing{}, anyKey), file: data}
		}, 501, "NotImplemented", "server-side encryption"},
		{"bad checksum", "badsum", func() postForm {
			sum := base64.StdEncoding.EncodeToString(sha256sum([]byte("other")))
			return postForm{fields: f.signed([]field{{"key", "badsum"}, {"x-amz-checksum-sha256", sum}}, signing{}, anyKey,
				[]any{"starts-with", "$x-amz-checksum-sha256", ""}), file: data}
		}, 400, "BadDigest", ""},
		{"bad Content-MD5", "badmd5", func() postForm {
			return postForm{fields: f.signed([]field{{"key", "badmd5"}, {"Content-MD5", contentMD5([]byte("other"))}}, signing{}, anyKey,
				[]any{"starts-with", "$Content-MD5", ""}), file: data}
		}, 400, "BadDigest", ""},
		{"policy not JSON", "notjson", func() postForm {
			fs := f.signed(k("notjson"), signing{}, anyKey)
			for i := range fs {
				if fs[i].name == "policy" {
					fs[i].value = base64.StdEncoding.EncodeToString([]byte(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [],}`))
					fs[i+1].value = tSign(f.SecretKey, time.Now().UTC().Format("20060102"), fs[i].value)
				}
			}
			return postForm{fields: fs, file: data}
		}, 400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON."},
		{"unknown condition", "endswith", func() postForm {
			return postForm{fields: f.signed(k("endswith"), signing{}, anyKey, []any{"ends-with", "$key", "x"}), file: data}
		}, 400, "InvalidPolicyDocument", `unknown operation "ends-with"`},
		{"key too long", strings.Repeat("k", 1025), func() postForm {
			return postForm{fields: f.signed(k(strings.Repeat("k", 1025)), signing{}, anyKey), file: data}
		}, 400, "KeyTooLongError", ""},
		{"nonexistent bucket", "nobucket", func() postForm {
			return postForm{fields: f.signed(k("nobucket"), signing{}, anyKey), file: data}
		}, 404, "NoSuchBucket", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bucket := b
			if tc.code == "NoSuchBucket" {
				bucket = "no-such-bucket-post"
			}
			resp, body := f.post(t, bucket, tc.form())
			doc := wantXMLError(t, resp, body, tc.code, tc.status)
			if !strings.Contains(doc.Message, tc.msg) {
				t.Errorf("message %q lacks %q", doc.Message, tc.msg)
			}
			if len(tc.key) <= 1024 && tc.code != "NoSuchBucket" && f.exists(t, b, tc.key) {
				t.Fatalf("refused with %s but stored", tc.code)
			}
		})
	}

	// The form's shape is checked before any of the body is read.
	t.Run("not a form", func(t *testing.T) {
		resp, body := f.postRaw(t, b, strings.NewReader("key=a&file=b"), "application/x-www-form-urlencoded", nil)
		doc := wantXMLError(t, resp, body, "PreconditionFailed", 412)
		if !strings.Contains(string(body), "<Condition>Bucket POST must be of the enclosure-type multipart/form-data</Condition>") {
			t.Errorf("no Condition: %s (%+v)", body, doc)
		}
	})
	t.Run("broken multipart", func(t *testing.T) {
		// Whole bodies that are no complete form are malformed.
		resp, body := f.postRaw(t, b, strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nv\r\n"),
			"multipart/form-data; boundary=x", nil)
		wantXMLError(t, resp, body, "MalformedPOSTRequest", 400)
		resp, body = f.postRaw(t, b, strings.NewReader("--x\r\nno header end"), "multipart/form-data; boundary=x", nil)
		wantXMLError(t, resp, body, "MalformedPOSTRequest", 400)
		resp, body = f.postRaw(t, b, strings.NewReader("just bytes"), "multipart/form-data; boundary=x", nil)
		wantXMLError(t, resp, body, "MalformedPOSTRequest", 400)
		resp, body = f.postRaw(t, b, strings.NewReader("--y\r\n\r\n--y--\r\n"), "multipart/form-data; boundary=y", nil)
		wantXMLError(t, resp, body, "MalformedPOSTRequest", 400)
	})
	t.Run("error fields", func(t *testing.T) {
		resp, body := f.post(t, b, postForm{fields: f.signed(k("large2"), signing{}, anyKey, []any{"content-length-range", 0, 10}), file: data})
		wantXMLError(t, resp, body, "EntityTooLarge", 400)
		if !strings.Contains(string(body), "<MaxSizeAllowed>10</MaxSizeAllowed>") {
			t.Errorf("no MaxSizeAllowed: %s", body)
		}
		resp, body = f.post(t, b, postForm{fields: f.signed(k("small2"), signing{}, anyKey, []any{"content-length-range", 100, 1000}), file: data})
		wantXMLError(t, resp, body, "EntityTooSmall", 400)
		if want := fmt.Sprintf("<ProposedSize>%d</ProposedSize><MinSizeAllowed>100</MinSizeAllowed>", len(data)); !strings.Contains(string(body), want) {
			t.Errorf("no %s: %s", want, body)
		}
		resp, body = f.post(t, b, postForm{fields: f.signed([]field{{"key", "pad"}, {"x-ignore-pad", strings.Repeat("p", 21<<10)}}, signing{}, anyKey), file: data})
		wantXMLError(t, resp, body, "MaxPostPreDataLengthExceeded", 400)
		if !strings.Contains(string(body), "<MaxPostPreDataLengthBytes>20480</MaxPostPreDataLengthBytes>") {
			t.Errorf("no MaxPostPreDataLengthBytes: %s", body)
		}
	})
}
