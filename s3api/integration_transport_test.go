package s3api_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
)

// TestSecureTransportReachesPolicies: aws:SecureTransport is true exactly
// for requests that came over TLS, and X-Forwarded-Proto counts only when
// trusted (and every hop says https).
func TestSecureTransportReachesPolicies(t *testing.T) {
	for _, trust := range []bool{false, true} {
		f := newFixture(t, s3test.WithAPIConfig(func(c *s3api.Config) { c.TrustForwardedProto = trust }))
		b := f.bucket(t)
		f.put(t, b, "k", []byte("data"))
		// The user may read only over TLS.
		k := f.newUser(t, "tls-only", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`)
		get := rawReq{method: http.MethodGet, bucket: b, key: "k"}.as(k)
		withProto := func(v string) rawReq {
			r := get
			r.header = http.Header{"X-Forwarded-Proto": {v}}
			return r
		}
		tests := []struct {
			name string
			send func() int
			want int
		}{
			{"https (SDK)", func() int {
				out, err := f.sdkAs(t, k).GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
				if err != nil {
					return http.StatusForbidden
				}
				out.Body.Close()
				return http.StatusOK
			}, http.StatusOK},
			{"plain http", func() int { resp, _ := f.do(t, get); return resp.StatusCode }, http.StatusForbidden},
			{"plain http claiming https", func() int { resp, _ := f.do(t, withProto("https")); return resp.StatusCode },
				map[bool]int{false: http.StatusForbidden, true: http.StatusOK}[trust]},
			{"plain http, proxy chain with an http hop", func() int { resp, _ := f.do(t, withProto("https, http")); return resp.StatusCode },
				http.StatusForbidden},
		}
		for _, tc := range tests {
			if got := tc.send(); got != tc.want {
				t.Errorf("trust=%v %s: status %d, want %d", trust, tc.name, got, tc.want)
			}
		}
	}
}
