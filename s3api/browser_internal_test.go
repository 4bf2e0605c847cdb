package s3api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/storage"
)

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "https://a.test", true},
		{"http://*.example.com", "http://a.example.com", true},
		{"http://*.example.com", "http://a.b.example.com", true},
		{"http://*.example.com", "http://.example.com", true},
		{"http://*.example.com", "http://example.com", false},
		{"http://*.example.com", "https://a.example.com", false},
		{"http://*.example.com", "http://a.example.com.evil", false},
		{"x-amz-*", "x-amz-date", true},
		{"x-amz-*", "x-amz-", true},
		{"x-amz-*", "x-am", false},
		{"ab*ba", "aba", false}, // the parts may not overlap
		{"ab*ba", "abba", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tc := range tests {
		if got := wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

// configsOnly is a storage.BucketConfigs that counts its reads.
type configsOnly struct {
	docs  map[string][]byte
	err   error
	reads int
}

func (c *configsOnly) PutBucketConfig(context.Context, string, storage.ConfigKind, []byte) error {
	return nil
}
func (c *configsOnly) DeleteBucketConfig(context.Context, string, storage.ConfigKind) error {
	return nil
}
func (c *configsOnly) GetBucketConfigs(context.Context, string, ...storage.ConfigKind) (storage.BucketInfo, []storage.ConfigDoc, error) {
	return storage.BucketInfo{}, nil, errors.New("configsOnly: GetBucketConfigs is not used by the CORS cache")
}
func (c *configsOnly) BucketConfigGeneration(context.Context) (uint64, error) { return 0, nil }
func (c *configsOnly) GetBucketConfig(_ context.Context, bucket string, kind storage.ConfigKind) ([]byte, error) {
	c.reads++
	if c.err != nil {
		return nil, c.err
	}
	if bucket == "missing" {
		return nil, &storage.BucketNotFoundError{Bucket: bucket}
	}
	d, ok := c.docs[bucket]
	if !ok {
		return nil, &storage.ConfigNotFoundError{Bucket: bucket, Kind: kind}
	}
	return d, nil
}

// The cache answers from what it read for ttl, negative answers included,
// forgets on this node's changes at once, does not keep failures, and is
// bounded.
func TestCORSCache(t *testing.T) {
	ctx := context.Background()
	doc := []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
	b := &configsOnly{docs: map[string][]byte{"on": doc}}
	now := time.Unix(1000, 0)
	c := newCORSCache(b, func() time.Time { return now }, 5*time.Second)
	get := func(bucket string) (*corsConfiguration, error) { return c.get(ctx, bucket) }

	if cfg, err := get("on"); err != nil || cfg == nil || cfg.Rules[0].AllowedOrigins[0] != "*" {
		t.Fatalf("get on: %+v %v", cfg, err)
	}
	if cfg, err := get("off"); err != nil || cfg != nil {
		t.Fatalf("get off: %+v %v", cfg, err)
	}
	var nb *storage.BucketNotFoundError
	if _, err := get("missing"); !errors.As(err, &nb) {
		t.Fatalf("get missing: %v", err)
	}
	for range 10 {
		get("on")
		get("off")
		get("missing")
	}
	if b.reads != 3 {
		t.Fatalf("%d reads for three buckets within the ttl", b.reads)
	}
	now = now.Add(5 * time.Second)
	get("on")
	if b.reads != 4 {
		t.Fatalf("no read after the ttl (%d)", b.reads)
	}
	delete(b.docs, "on")
	c.forget("on")
	if cfg, _ := get("on"); cfg != nil || b.reads != 5 {
		t.Fatalf("forget: %+v, %d reads", cfg, b.reads)
	}
	b.err = errors.New("quorum lost")
	if _, err := get("other"); err == nil {
		t.Fatal("lookup failure hidden")
	}
	b.err = nil
	if _, err := get("other"); err != nil || b.reads != 7 {
		t.Fatalf("a failure was cached: %v, %d reads", err, b.reads)
	}
	for i := range corsCacheMax + 10 {
		get(strings.Repeat("b", 1+i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(c.m) > corsCacheMax {
		t.Fatalf("cache holds %d entries", len(c.m))
	}
	// A zero ttl reads every time.
	c0 := newCORSCache(b, func() time.Time { return now }, 0)
	reads := b.reads
	c0.get(ctx, "off")
	c0.get(ctx, "off")
	if b.reads != reads+2 {
		t.Fatalf("ttl 0 cached")
	}
}

// BenchmarkCORSHeaders measures what an actual request with an Origin
// header costs on a bucket with rules: the cached lookup and the match.
func BenchmarkCORSHeaders(b *testing.B) {
	var rules strings.Builder
	rules.WriteString("<CORSConfiguration>")
	for range 20 {
		rules.WriteString("<CORSRule><AllowedOrigin>https://nope.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule>")
	}
	rules.WriteString("<CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>" +
		"<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>")
	s := &Server{cors: newCORSCache(&configsOnly{docs: map[string][]byte{"b": []byte(rules.String())}}, time.Now, time.Minute)}
	r := httptest.NewRequest(http.MethodGet, "/b/k", nil)
	r.Header.Set("Origin", "https://app.example.com")
	req := &request{Request: r, route: Route{Op: OpGetObject, Bucket: "b", Key: "k", API: APIS3}}
	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{}
		s.corsHeaders(context.Background(), h, req)
		if h.Get("Access-Control-Allow-Origin") == "" {
			b.Fatal("no match")
		}
	}
}

func postPolicyDoc(t testing.TB, doc any) string {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestParsePostPolicy(t *testing.T) {
	exp := "2030-01-01T00:00:00.000Z"
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name   string
		policy string
		msg    string // "" parses
	}{
		{"the AWS example's shape", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{
			map[string]string{"bucket": "sigv4examplebucket"}, []any{"starts-with", "$key", "user/user1/"},
			[]any{"content-length-range", 1, 1048576}}}), ""},
		{"several exact matches in one object", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{
			map[string]string{"bucket": "b", "acl": "private"}}}), ""},
		{"not base64", "!!!", "not valid base64"},
		{"not JSON", b64([]byte("{")), "Invalid JSON."},
		{"trailing comma", b64([]byte(`{"expiration":"` + exp + `","conditions":[],}`)), "Invalid JSON."},
		{"two documents", b64([]byte(`{"expiration":"` + exp + `","conditions":[]}{}`)), "Invalid JSON."},
		{"unknown key", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{}, "extra": 1}), "Invalid JSON."},
		{"no expiration", postPolicyDoc(t, map[string]any{"conditions": []any{}}), "Policy missing expiration."},
		{"bad expiration", postPolicyDoc(t, map[string]any{"expiration": "tomorrow", "conditions": []any{}}), "Invalid 'expiration' value"},
		{"no conditions", postPolicyDoc(t, map[string]any{"expiration": exp}), "Policy missing conditions."},
		{"empty object", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{map[string]string{}}}), "exactly one property"},
		{"number value", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{map[string]int{"acl": 1}}}), "value must be a string"},
		{"unknown operation", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{[]any{"ends-with", "$key", "x"}}}), "unknown operation"},
		{"no $", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{[]any{"eq", "key", "x"}}}), "must start with '$'"},
		{"short list", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{[]any{"eq", "$key"}}}), "exactly two arguments"},
		{"float range", b64([]byte(`{"expiration":"` + exp + `","conditions":[["content-length-range",0,512.0]]}`)), "content-length-range"},
		{"string range", b64([]byte(`{"expiration":"` + exp + `","conditions":[["content-length-range","0","512"]]}`)), "content-length-range"},
		{"inverted range", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{[]any{"content-length-range", 10, 1}}}), "content-length-range"},
		{"negative range", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{[]any{"content-length-range", -1, 1}}}), "content-length-range"},
		{"scalar condition", postPolicyDoc(t, map[string]any{"expiration": exp, "conditions": []any{"key"}}), "must be an object or a list"},
	}
	for _, tc := range tests {
		_, err := parsePostPolicy(tc.policy)
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.msg != "" && (err == nil || toAPIError(err).Code != ErrInvalidPolicyDocument || !strings.Contains(toAPIError(err).Message, tc.msg)):
			t.Errorf("%s: got %v, want InvalidPolicyDocument with %q", tc.name, err, tc.msg)
		}
	}
}

func TestPostPolicyCheck(t *testing.T) {
	p, err := parsePostPolicy(postPolicyDoc(t, map[string]any{"expiration": "2030-01-01T00:00:00Z", "conditions": []any{
		map[string]string{"bucket": "b"}, []any{"starts-with", "$key", "user/"}, []any{"starts-with", "$Content-Type", "image/"},
		[]any{"eq", "$x-amz-meta-uuid", "14"}, []any{"starts-with", "$x-amz-meta-tag", ""}}}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	base := func() map[string]string {
		return map[string]string{"bucket": "b", "key": "user/a", "content-type": "image/png", "x-amz-meta-uuid": "14"}
	}
	names := []string{"key", "content-type", "x-amz-meta-uuid", "policy", "x-amz-signature", "x-ignore-me"}
	tests := []struct {
		name   string
		now    time.Time
		change func(map[string]string)
		names  []string
		msg    string // "" allowed
	}{
		{"allowed", now, func(map[string]string) {}, names, ""},
		{"a missing field is empty", now, func(v map[string]string) { delete(v, "x-amz-meta-tag") }, names, ""},
		{"several types", now, func(v map[string]string) { v["content-type"] = "image/png, image/gif" }, names, ""},
		{"expired", time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC), func(map[string]string) {}, names, "Policy expired."},
		{"bucket", now, func(v map[string]string) { v["bucket"] = "c" }, names, `["eq", "$bucket", "b"]`},
		{"prefix", now, func(v map[string]string) { v["key"] = "admin/a" }, names, `["starts-with", "$key", "user/"]`},
		{"one type of several", now, func(v map[string]string) { v["content-type"] = "image/png,text/html" }, names, "content-type"},
		{"eq missing", now, func(v map[string]string) { delete(v, "x-amz-meta-uuid") }, names, "x-amz-meta-uuid"},
		{"extra field", now, func(map[string]string) {}, append(names, "cache-control"), "Extra input fields: cache-control"},
	}
	for _, tc := range tests {
		v := base()
		tc.change(v)
		err := p.check(tc.now, v, tc.names)
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.msg != "" && (err == nil || toAPIError(err).Code != ErrAccessDenied || !strings.Contains(toAPIError(err).Message, tc.msg)):
			t.Errorf("%s: got %v, want AccessDenied with %q", tc.name, err, tc.msg)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	tests := []struct {
		n, min, max int64
		code        ErrorCode
	}{
		{0, 0, 0, ""}, {10, 10, 10, ""}, {10, 0, 9, ErrEntityTooLarge}, {10, 11, 100, ErrEntityTooSmall}, {1 << 20, 0, 1<<20 - 1, ErrEntityTooLarge},
	}
	for _, tc := range tests {
		src := &tallyReader{r: bytes.NewReader(make([]byte, tc.n))}
		_, err := io.Copy(io.Discard, &sizeLimit{r: src, min: tc.min, max: tc.max})
		var got ErrorCode
		if err != nil {
			got = toAPIError(err).Code
		}
		if got != tc.code {
			t.Errorf("%d bytes in [%d, %d]: %v, want %q", tc.n, tc.min, tc.max, err, tc.code)
		}
		// Past the maximum the limit reads at most one byte more.
		if tc.code == ErrEntityTooLarge && src.n > tc.max+1 {
			t.Errorf("read %d bytes of a file limited to %d", src.n, tc.max)
		}
	}
}

type tallyReader struct {
	r io.Reader
	n int64
}

func (c *tallyReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// The form reader reads no further than its bound before the file.
func TestReadFormBound(t *testing.T) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	// A part header far larger than any field: the multipart reader's own
	// limit is 10 MiB, ours is the pre-data bound.
	head := "--" + w.Boundary() + "\r\nContent-Disposition: form-data; name=\"key\"\r\nX-Pad: " + strings.Repeat("p", 1<<20) + "\r\n\r\nv\r\n"
	b.WriteString(head)
	src := &tallyReader{r: &b}
	raw := &formReader{r: src, limit: maxPostPreData + postRawSlack}
	_, err := readForm(multipart.NewReader(raw, w.Boundary()))
	if ae := toAPIError(formError(err, raw.eof)); ae.Code != ErrMaxPostPreDataLengthExceeded {
		t.Fatalf("oversize part header: %v", err)
	}
	if src.n > maxPostPreData+postRawSlack {
		t.Fatalf("read %d bytes before refusing", src.n)
	}
}
