// Package policy is the AWS JSON policy language: parse, validate and
// evaluate identity, bucket (resource) and trust policies, and combine them
// into an access decision.
//
// Use:
//
//	p, err := policy.Parse(jsonBytes, policy.KindResource) // err is an *Error
//	d := policy.Decide(req, policy.PolicySets{Resource: []policy.Named{{Name: "bucket policy", Policy: p}}})
//	if !d.Allowed() { ... d.String() names the deciding statement ... }
//
// The package is pure: no I/O, no globals; the clock reading comes in
// Request.Time. Policies compile once (wildcards, CIDRs, numbers, dates)
// and evaluation does not allocate in the common case. A *Policy is
// immutable and safe for concurrent use.
//
// Semantics follow the IAM user guide: element and operator names are
// case-sensitive; actions and condition key names match case-insensitively,
// resources and string values case-sensitively (except the IgnoreCase
// operators). Policy variables (${aws:username}, ${s3:prefix}, any request
// key, ${key, 'default'}, and ${*} ${?} ${$} for literal characters) are
// substituted in Resource and in String*, Bool and Arn* condition values of
// Version 2012-10-17 policies only; substituted text is literal (never a
// wildcard). A variable whose key is absent or multi-valued and has no
// default matches nothing. Typed operators (Numeric*, Date*, Bool,
// BinaryEquals, IpAddress, Arn*) fail closed on a request value of the
// wrong type: the condition keeps an Allow from applying and lets a Deny
// apply.
package policy
