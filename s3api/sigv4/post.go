package sigv4

import (
	"crypto/sha256"
	"net/http"
	"time"
)

// PostForm holds the signature fields of a browser-based upload (an HTML
// form POSTed as multipart/form-data). The signature there covers the
// base64 policy document as sent, not the request: the policy's conditions
// say what the form may contain, and checking them is the caller's job.
type PostForm struct {
	Policy        string // the "policy" field, base64 as sent
	Algorithm     string // x-amz-algorithm
	Credential    string // x-amz-credential
	Date          string // x-amz-date
	Signature     string // x-amz-signature
	SecurityToken string // x-amz-security-token, if any
}

// VerifyPost authenticates a POST upload's form: it checks the algorithm,
// the credential scope against x-amz-date and the region, and the
// signature, hex(HMAC(signing key, policy)), in constant time. It does not
// check the time against the clock: the policy's expiration bounds a form's
// life. The Result has no Body (the file is a part of the form, read by the
// caller) and PostPolicy set.
func (v *Verifier) VerifyPost(f PostForm) (*Result, error) { return v.VerifyPostWith(f, v.cfg.Lookup) }

// VerifyPostWith is VerifyPost with the secrets from lookup (see VerifyWith).
func (v *Verifier) VerifyPostWith(f PostForm, lookup Lookup) (*Result, error) {
	sentinel := ErrInvalidPostForm
	if f.Algorithm != algorithm {
		return nil, errorf(ErrUnsupportedAlgorithm, "x-amz-algorithm %.32q is not accepted, it only supports \"AWS4-HMAC-SHA256\"", f.Algorithm)
	}
	cred, err := parseCredential(f.Credential, sentinel)
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(amzDateLayout, f.Date)
	if err != nil {
		return nil, errorf(sentinel, "x-amz-date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	sig, err := parseSignature(f.Signature, sentinel)
	if err != nil {
		return nil, err
	}
	if f.Policy == "" {
		return nil, errorf(sentinel, "a signed POST must carry a policy")
	}
	if err := v.checkScope(cred, t, sentinel); err != nil {
		return nil, err
	}
	if cred.service != "s3" {
		// Only S3 takes form uploads; a key scoped to iam or sts is not one.
		return nil, errorf(sentinel, "incorrect service %.32q in x-amz-credential, expecting \"s3\"", cred.service)
	}
	key, err := v.signingKey(cred, lookup)
	if err != nil {
		return nil, err
	}
	var buf [sha256.Size]byte
	if !signatureEqual(key.sign(buf[:0], []byte(f.Policy)), sig) {
		return nil, &SignatureMismatchError{AccessKey: cred.accessKey, StringToSign: f.Policy}
	}
	return &Result{AccessKey: cred.accessKey, SessionToken: f.SecurityToken, PostPolicy: true, Service: cred.service, Signed: t,
		ContentLength: -1, Trailer: func() http.Header { return nil }}, nil
}
