package policy

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Condition keys the S3 and IAM layers supply or that Decide derives. The
// package evaluates any key; these names only save typing and typos. Key
// names are case-insensitive.
const (
	KeySourceIP         = "aws:SourceIp"
	KeySecureTransport  = "aws:SecureTransport"
	KeyUserAgent        = "aws:UserAgent"
	KeyReferer          = "aws:Referer"
	KeyRequestTagPrefix = "aws:RequestTag/"
	KeyTagKeys          = "aws:TagKeys"
	KeyMultiFactorAuth  = "aws:MultiFactorAuthPresent"

	// Derived from Request.Principal and Request.Time; values a caller sets
	// in the Context for these keys are ignored.
	KeyCurrentTime        = "aws:CurrentTime"
	KeyEpochTime          = "aws:EpochTime"
	KeyUsername           = "aws:username"
	KeyUserID             = "aws:userid"
	KeyPrincipalType      = "aws:PrincipalType"
	KeyPrincipalArn       = "aws:PrincipalArn"
	KeyPrincipalAccount   = "aws:PrincipalAccount"
	KeyPrincipalTagPrefix = "aws:PrincipalTag/"

	KeyS3Prefix                  = "s3:prefix"
	KeyS3Delimiter               = "s3:delimiter"
	KeyS3MaxKeys                 = "s3:max-keys"
	KeyS3ACL                     = "s3:x-amz-acl"
	KeyS3ServerSideEncryption    = "s3:x-amz-server-side-encryption"
	KeyS3VersionID               = "s3:VersionId"
	KeyS3ExistingObjectTagPrefix = "s3:ExistingObjectTag/"
	KeyS3RequestObjectTagPrefix  = "s3:RequestObjectTag/"
	KeyS3AuthType                = "s3:authType"
	KeyS3SignatureVersion        = "s3:signatureversion"
	KeyS3SignatureAge            = "s3:signatureAge"
	KeyS3ContentSHA256           = "s3:x-amz-content-sha256"
)

// Context holds a request's condition keys and their values. Keys are
// case-insensitive, as in AWS. The zero Context is empty and ready to use.
type Context struct {
	m map[string][]string
}

// Set gives key the values (replacing earlier ones). A key set with no
// values is absent.
func (c *Context) Set(key string, values ...string) {
	k := strings.ToLower(key)
	if len(values) == 0 {
		delete(c.m, k)
		return
	}
	if c.m == nil {
		c.m = make(map[string][]string)
	}
	c.m[k] = slices.Clone(values)
}

// Values returns the values of key and whether it is present.
func (c Context) Values(key string) ([]string, bool) {
	v, ok := c.m[strings.ToLower(key)]
	return v, ok
}

// keyKind says where a condition key's value comes from.
type keyKind uint8

const (
	kContext keyKind = iota
	kCurrentTime
	kEpochTime
	kUsername
	kUserID
	kPrincipalType
	kPrincipalArn
	kPrincipalAccount
	kPrincipalTag
)

// condKey is a condition key compiled once: lower-cased, classified.
type condKey struct {
	lower string
	kind  keyKind
	tag   string // kPrincipalTag: the tag name
}

func compileKey(name string) condKey {
	k := condKey{lower: strings.ToLower(name)}
	switch k.lower {
	case "aws:currenttime":
		k.kind = kCurrentTime
	case "aws:epochtime":
		k.kind = kEpochTime
	case "aws:username":
		k.kind = kUsername
	case "aws:userid":
		k.kind = kUserID
	case "aws:principaltype":
		k.kind = kPrincipalType
	case "aws:principalarn":
		k.kind = kPrincipalArn
	case "aws:principalaccount":
		k.kind = kPrincipalAccount
	default:
		if tag, ok := strings.CutPrefix(k.lower, "aws:principaltag/"); ok {
			k.kind, k.tag = kPrincipalTag, tag
		}
	}
	return k
}

// values is a view of a key's request values without copying them.
type values struct {
	list []string
	one  string
	n    int
	time bool      // aws:CurrentTime or aws:EpochTime
	t    time.Time // when time
	unix bool      // aws:EpochTime: its text form is seconds
}

func (v *values) str(i int) string {
	switch {
	case v.time && v.unix:
		return strconv.FormatInt(v.t.Unix(), 10)
	case v.time:
		return v.t.UTC().Format(time.RFC3339)
	case v.list != nil:
		return v.list[i]
	}
	return v.one
}

// evalCtx is one request prepared for evaluation (on the caller's stack).
type evalCtx struct {
	req   *Request
	res   arnParts // the request's resource, split once
	resOK bool
}

func (ec *evalCtx) lookup(k *condKey) values {
	r := ec.req
	p := &r.Principal
	single := func(s string) values {
		if s == "" {
			return values{}
		}
		return values{one: s, n: 1}
	}
	switch k.kind {
	case kCurrentTime, kEpochTime:
		if r.Time.IsZero() {
			return values{}
		}
		return values{n: 1, time: true, t: r.Time.Truncate(time.Second), unix: k.kind == kEpochTime}
	case kUsername:
		if p.Type != PrincipalUser {
			return values{}
		}
		return single(p.Username)
	case kUserID:
		return single(p.UserID)
	case kPrincipalType:
		switch p.Type {
		case PrincipalAnonymous, PrincipalAccount, PrincipalUser, PrincipalAssumedRole, PrincipalFederatedUser:
			return single(p.Type.String())
		}
		return values{}
	case kPrincipalArn:
		return single(p.principalArn())
	case kPrincipalAccount:
		return single(p.Account)
	case kPrincipalTag:
		for name, v := range p.Tags {
			if strings.EqualFold(name, k.tag) {
				return values{one: v, n: 1}
			}
		}
		return values{}
	}
	list := r.Context.m[k.lower]
	return values{list: list, n: len(list)}
}

// resolve substitutes a variable: the key's only value, else the default.
func (ec *evalCtx) resolve(pc *piece) (string, bool) {
	v := ec.lookup(&pc.key)
	if v.n == 1 {
		return v.str(0), true
	}
	if pc.hasDef {
		return pc.text, true
	}
	return "", false
}
