package s3api

import (
	"net/http"
	"strings"
)

// secureTransport reports whether a request reached us over TLS. Behind a
// proxy that terminates TLS the connection is plain, and only the proxy
// can say how the client connected: X-Forwarded-Proto is believed when
// trustForwarded is set (--trust-forwarded-proto), which is safe only if
// the proxy overwrites the header and clients cannot reach this server
// around it; every value must say https.
func secureTransport(r *http.Request, trustForwarded bool) bool {
	if r.TLS != nil {
		return true
	}
	if !trustForwarded {
		return false
	}
	vals := r.Header.Values("X-Forwarded-Proto")
	if len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if !strings.EqualFold(strings.TrimSpace(p), "https") {
				return false
			}
		}
	}
	return true
}
