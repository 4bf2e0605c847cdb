package s3api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestDispatch pins which handler each request reaches: the unsigned
// probes (no authentication) only at their exact paths and for GET/HEAD,
// the S3 pipeline for every other path, a plain 404 for targets that are
// no path. The table is what the gorilla/mux router this replaced answered
// (SkipClean, UseEncodedPath), so the probes' bypass of authentication
// reaches no further than it did.
func TestDispatch(t *testing.T) {
	env := s3test.New(t, s3test.WithAPIConfig(func(c *s3api.Config) {
		reg := prometheus.NewRegistry()
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "filesphere_dispatch_gauge", Help: "test"})
		reg.MustRegister(g)
		c.Metrics, c.MetricsPublic = promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), true
	}))
	srv := env.Server.Config.Handler
	const auth = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
	tests := []struct {
		method, target, auth, want string
	}{
		{"GET", "/health/live", "", "probe"},
		{"HEAD", "/health/live", "", "probe"},
		{"GET", "/health/ready", "", "probe"},
		{"GET", "/health/live?x=1", "", "probe"},
		{"GET", "http://example.com/health/live", "", "probe"},
		{"GET", "/metrics", "", "metrics"},
		{"POST", "/health/live", "", "s3"},
		{"PUT", "/health/ready", "", "s3"},
		{"DELETE", "/metrics", "", "s3"},
		{"GET", "/health/live", auth, "s3"},
		{"GET", "/metrics", auth, "s3"},
		{"GET", "/health/live?X-Amz-Credential=AK%2F20250101%2Fus-east-1%2Fs3%2Faws4_request", "", "s3"},
		{"GET", "/health/live/", "", "s3"},
		{"GET", "/health//live", "", "s3"},
		{"GET", "/health/./live", "", "s3"},
		{"GET", "/health%2Flive", "", "s3"},
		{"GET", "/Health/live", "", "s3"},
		{"GET", "/health", "", "s3"},
		{"GET", "/", "", "s3"},
		{"GET", "/bucket/key", auth, "s3"},
		{"OPTIONS", "*", "", "404"},
		{"CONNECT", "example.com:443", "", "404"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, tc.target, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		body, _ := io.ReadAll(w.Result().Body)
		got := "?"
		switch {
		case w.Header().Get("X-Amz-Request-Id") != "":
			got = "s3"
		case w.Code == http.StatusNotFound && string(body) == "404 page not found\n":
			got = "404"
		case w.Code == http.StatusOK && strings.Contains(string(body), "filesphere_dispatch_gauge"):
			got = "metrics"
		case w.Code == http.StatusOK && len(body) == 0:
			got = "probe"
		}
		if got != tc.want {
			t.Errorf("%s %s (auth %t): reached %s (%d %q), want %s", tc.method, tc.target, tc.auth != "", got, w.Code, body, tc.want)
		}
	}
}
