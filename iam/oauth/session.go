package oauth

import (
	"encoding/json"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what a grant knows about the user (or the service identity)
// it was given to: the OpenID Connect claims of its ID tokens and the
// claims of its JWT access tokens. The subject is the IAM user's unique id
// (AIDA…), so a user deleted and re-created under the same name is another
// subject; User names it.
type Session struct {
	OIDC *openid.DefaultSession `json:"oidc"`
	JWT  *jwt.JWTClaims         `json:"jwt"`
	// User and UserID are the IAM user the grant stands for.
	User   string `json:"user"`
	UserID string `json:"user_id"`
}

// NewSession returns an empty session (fosite fills a new request's).
func NewSession() *Session {
	return &Session{OIDC: &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}},
		JWT: &jwt.JWTClaims{}}
}

// newUserSession is the session of a grant to an IAM user through a
// client (named in the access tokens' client_id claim). grant is the
// grant's request id, named in the ID token as its sid so that STS can
// refuse the ID tokens of a revoked grant.
func newUserSession(issuer, clientID, user, userID, arn, grant string, authTime time.Time) *Session {
	s := NewSession()
	s.User, s.UserID = user, userID
	s.OIDC.Subject, s.OIDC.Username = userID, user
	s.OIDC.Claims = &jwt.IDTokenClaims{Issuer: issuer, Subject: userID, AuthTime: authTime.UTC(), RequestedAt: authTime.UTC(),
		Extra: map[string]any{"preferred_username": user, claimARN: arn, "sid": grant}}
	s.JWT = &jwt.JWTClaims{Issuer: issuer, Subject: userID,
		Extra: map[string]any{"preferred_username": user, claimARN: arn, "sid": grant, "client_id": clientID}}
	return s
}

// claimARN is the claim naming the user's ARN: the RoleArn the user's own
// tokens exchange for at STS.
const claimARN = "filesphere_arn"

// Clone implements fosite.Session.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return NewSession()
	}
	out := NewSession()
	if err := json.Unmarshal(b, out); err != nil {
		return NewSession()
	}
	out.fill()
	return out
}

// fill makes the nested parts non-nil after decoding.
func (s *Session) fill() {
	if s.OIDC == nil {
		s.OIDC = &openid.DefaultSession{}
	}
	if s.OIDC.Claims == nil {
		s.OIDC.Claims = &jwt.IDTokenClaims{}
	}
	if s.OIDC.Headers == nil {
		s.OIDC.Headers = &jwt.Headers{}
	}
	if s.JWT == nil {
		s.JWT = &jwt.JWTClaims{}
	}
}

// UnmarshalJSON decodes and fills.
func (s *Session) UnmarshalJSON(b []byte) error {
	type plain Session
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Session(p)
	s.fill()
	return nil
}

func (s *Session) SetExpiresAt(t fosite.TokenType, exp time.Time) { s.OIDC.SetExpiresAt(t, exp) }
func (s *Session) GetExpiresAt(t fosite.TokenType) time.Time      { return s.OIDC.GetExpiresAt(t) }
func (s *Session) GetUsername() string                            { return s.OIDC.GetUsername() }
func (s *Session) GetSubject() string                             { return s.OIDC.GetSubject() }

// IDTokenClaims and IDTokenHeaders implement openid.Session.
func (s *Session) IDTokenClaims() *jwt.IDTokenClaims { return s.OIDC.IDTokenClaims() }
func (s *Session) IDTokenHeaders() *jwt.Headers      { return s.OIDC.IDTokenHeaders() }

// GetJWTClaims and GetJWTHeader implement oauth2.JWTSessionContainer.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer { return s.JWT }
func (s *Session) GetJWTHeader() *jwt.Headers           { return &jwt.Headers{} }
