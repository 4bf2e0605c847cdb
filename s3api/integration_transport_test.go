package s3api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// identityRecorder is an Authorizer that remembers the last identity it
// was asked about and allows signed requests.
type identityRecorder struct {
	mu   sync.Mutex
	last s3api.Identity
	n    int
}

func (r *identityRecorder) Authorize(_ context.Context, id s3api.Identity, _ s3api.Route) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.n = id, r.n+1
	return s3api.AuthenticatedOnly{}.Authorize(context.Background(), id, s3api.Route{})
}

func (r *identityRecorder) get() (s3api.Identity, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.n
}

// TestSecureTransportReachesTheAuthorizer: the authorizer is told whether a
// request came over TLS, and X-Forwarded-Proto counts only when trusted.
func TestSecureTransportReachesTheAuthorizer(t *testing.T) {
	for _, trust := range []bool{false, true} {
		rec := &identityRecorder{}
		f := newFixture(t, s3test.WithAuthorizer(rec), s3test.WithAPIConfig(func(c *s3api.Config) { c.TrustForwardedProto = trust }))
		tests := []struct {
			name string
			send func() error
			want bool
		}{
			{"https (SDK)", func() error { _, err := f.sdk.ListBuckets(ctx(t), &s3.ListBucketsInput{}); return err }, true},
			{"plain http", func() error { return status(f.do(t, rawReq{method: http.MethodGet})) }, false},
			{"plain http claiming https", func() error {
				return status(f.do(t, rawReq{method: http.MethodGet, header: http.Header{"X-Forwarded-Proto": {"https"}}}))
			}, trust},
			{"plain http, proxy chain with an http hop", func() error {
				return status(f.do(t, rawReq{method: http.MethodGet, header: http.Header{"X-Forwarded-Proto": {"https, http"}}}))
			}, false},
		}
		for _, tc := range tests {
			_, before := rec.get()
			if err := tc.send(); err != nil {
				t.Fatalf("trust=%v %s: %v", trust, tc.name, err)
			}
			id, n := rec.get()
			if n != before+1 {
				t.Fatalf("trust=%v %s: authorizer asked %d times", trust, tc.name, n-before)
			}
			if id.SecureTransport != tc.want || id.AccessKey != f.AccessKey {
				t.Errorf("trust=%v %s: identity %+v, want SecureTransport=%v", trust, tc.name, id, tc.want)
			}
		}
	}
}

func status(resp *http.Response, body []byte) error {
	if resp.StatusCode != http.StatusOK {
		return &httpStatusError{resp.Status, string(body)}
	}
	return nil
}

type httpStatusError struct{ status, body string }

func (e *httpStatusError) Error() string { return e.status + ": " + e.body }
