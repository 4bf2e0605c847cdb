package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// presignRequest asks for a shared link: a GET of one object (version),
// valid for ExpiresSeconds.
type presignRequest struct {
	Bucket         string `json:"bucket"`
	Key            string `json:"key"`
	VersionID      string `json:"versionId,omitempty"`
	ExpiresSeconds int64  `json:"expiresSeconds"`
}

type presignAnswer struct {
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
	// Capped: the link ends earlier than asked, with the session's
	// credentials (a link signed with temporary credentials stops working
	// when they expire, as in AWS).
	Capped bool `json:"capped"`
}

// presign signs a GET link with the session's credentials. Signing
// decides nothing: whoever opens the link is then authorized as the
// session's user would be, at that moment.
func (s *Server) presign(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "POST the link to sign.")
		return
	}
	sess, _ := s.authenticated(w, r, true)
	if sess == nil {
		return
	}
	var in presignRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxLoginBody)).Decode(&in); err != nil || in.Bucket == "" || in.Key == "" {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "Give a bucket, a key and an expiry.")
		return
	}
	if in.ExpiresSeconds < 1 || time.Duration(in.ExpiresSeconds)*time.Second > s.cfg.MaxShareExpiry {
		writeError(w, http.StatusBadRequest, "InvalidRequest",
			"The expiry must be from 1 second to "+strconv.FormatInt(int64(s.cfg.MaxShareExpiry/time.Second), 10)+" seconds.")
		return
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	expires := now.Add(time.Duration(in.ExpiresSeconds) * time.Second)
	capped := false
	if left := sess.expires.Truncate(time.Second); expires.After(left) {
		expires, capped = left, true
	}
	if !expires.After(now) {
		writeError(w, http.StatusUnauthorized, "SessionExpired", "The session expired with its credentials; log in again.")
		return
	}
	u := s.endpoint(r)
	path := "/" + in.Bucket + "/" + in.Key
	u.Path, u.RawPath = path, s3Escape(path)
	q := url.Values{"X-Amz-Expires": {strconv.FormatInt(int64(expires.Sub(now)/time.Second), 10)}}
	if in.VersionID != "" {
		q.Set("versionId", in.VersionID)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "The key cannot be put in a URL.")
		return
	}
	signed, _, err := s.signer.PresignHTTP(context.Background(), sess.creds, req, unsignedPayload, "s3", s.cfg.Region, now,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "Signing failed.")
		return
	}
	writeJSON(w, http.StatusOK, presignAnswer{URL: signed, Expires: expires, Capped: capped})
}

// s3Escape percent-encodes a path as SigV4 and S3 clients do: every
// byte but the unreserved characters and '/'.
func s3Escape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		}
	}
	return b.String()
}
