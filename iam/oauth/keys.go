package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/filesphere/filesphere/iam"
)

// The oauth key space, all under iam.PrefixOAuth ("i/oauth/"), declared
// here and nowhere else. Values are JSON records. Tokens and codes are
// never keys themselves: a key holds the SHA-256 of the token's signature
// (or of the code), so reading the KV gives no usable token.
//
//	i/oauth/secret             sealed 32-byte secret of the HMAC tokens (codes, refresh tokens) and the CSRF tokens
//	i/oauth/keys               keyRingRecord: the signing keys (private parts sealed), current first
//	i/oauth/client/<id>        clientRecord: a registered OAuth client
//	i/oauth/clientname/<name>  the id of the client of that name (names are unique, lower-cased)
//	i/oauth/code/<h>           codeRecord: an authorization code's request (until used or expired)
//	i/oauth/pkce/<h>           requestRecord: the PKCE challenge of a code
//	i/oauth/oidc/<h>           requestRecord: the OpenID Connect request of a code
//	i/oauth/at/<h>             tokenRecord: an access token's request (JWT: kept for revocation and introspection)
//	i/oauth/rt/<h>             tokenRecord: a refresh token's request; inactive once rotated
//	i/oauth/family/<id>        familyRecord: one grant (all tokens descending from one authorization), revocable as a whole
//	i/oauth/device/<h>         deviceRecord: a device authorization (RFC 8628)
//	i/oauth/usercode/<code>    the device record's key of a pending user code
//	i/oauth/fail/<u|a>/<name>  failRecord: failed logins of a user name or a source address (throttling)
//	i/oauth/issuer/<id>        issuerRecord: an external OpenID Connect issuer whose tokens STS accepts
const (
	keySecret        = iam.PrefixOAuth + "secret"
	keyKeys          = iam.PrefixOAuth + "keys"
	prefixClient     = iam.PrefixOAuth + "client/"
	prefixClientName = iam.PrefixOAuth + "clientname/"
	prefixCode       = iam.PrefixOAuth + "code/"
	prefixPKCE       = iam.PrefixOAuth + "pkce/"
	prefixOIDC       = iam.PrefixOAuth + "oidc/"
	prefixAccess     = iam.PrefixOAuth + "at/"
	prefixRefresh    = iam.PrefixOAuth + "rt/"
	prefixFamily     = iam.PrefixOAuth + "family/"
	prefixDevice     = iam.PrefixOAuth + "device/"
	prefixUserCode   = iam.PrefixOAuth + "usercode/"
	prefixFail       = iam.PrefixOAuth + "fail/"
	prefixIssuer     = iam.PrefixOAuth + "issuer/"
)

// hashed is the key part for a token signature or code.
func hashed(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func clientKey(id string) string       { return prefixClient + id }
func clientNameKey(name string) string { return prefixClientName + strings.ToLower(name) }
func familyKey(id string) string       { return prefixFamily + hashed(id) }
func failKey(kind, name string) string {
	return prefixFail + kind + "/" + hashed(strings.ToLower(name))
}
func issuerKey(id string) string { return prefixIssuer + id }

// sealPurpose binds a sealed value to its place.
func sealPurpose(what string) string { return "iam/oauth/" + what }
