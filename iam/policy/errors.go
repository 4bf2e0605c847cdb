package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of invalid policy. Every error from ParseDocument, Parse and Compile
// is an *Error whose Kind is one of these, so callers match with errors.Is
// (S3 answers MalformedPolicy, IAM MalformedPolicyDocument, with Error() as
// the message).
var (
	ErrSyntax              = errors.New("invalid policy syntax")
	ErrUnknownElement      = errors.New("unknown policy element")
	ErrBadCharacter        = errors.New("character not allowed in a policy document")
	ErrUnknownVersion      = errors.New("unknown policy version")
	ErrNoStatement         = errors.New("policy has no statement")
	ErrBadEffect           = errors.New("effect must be Allow or Deny")
	ErrMissingAction       = errors.New("statement has no Action or NotAction")
	ErrMissingResource     = errors.New("statement has no Resource or NotResource")
	ErrMissingPrincipal    = errors.New("statement has no Principal or NotPrincipal")
	ErrConflictingElements = errors.New("statement has both an element and its Not form")
	ErrElementNotAllowed   = errors.New("element not allowed in this kind of policy")
	ErrBadSid              = errors.New("invalid statement id")
	ErrDuplicateSid        = errors.New("duplicate statement id")
	ErrBadAction           = errors.New("invalid action")
	ErrBadARN              = errors.New("malformed ARN")
	ErrBadPrincipal        = errors.New("invalid principal")
	ErrUnknownOperator     = errors.New("unknown condition operator")
	ErrBadConditionKey     = errors.New("invalid condition key")
	ErrBadConditionValue   = errors.New("invalid condition value")
	ErrBadVariable         = errors.New("invalid policy variable")
)

// Error describes why a policy was refused: which kind of problem, where
// (statement index and Sid, element) and the offending value.
type Error struct {
	Kind      error  // one of the Err* sentinels
	Statement int    // index of the statement, -1 for the document itself
	Sid       string // the statement's Sid, if any
	Element   string // "Effect", "Condition", ... ("" when not specific)
	Value     string // the offending value, if any
	Detail    string // extra explanation, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	if e.Statement >= 0 {
		fmt.Fprintf(&b, "statement %d", e.Statement)
		if e.Sid != "" {
			fmt.Fprintf(&b, " (%q)", e.Sid)
		}
		b.WriteString(": ")
	}
	if e.Element != "" {
		b.WriteString(e.Element)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap lets errors.Is match the Kind sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// docErr is an error about the whole document.
func docErr(kind error, element, value, detail string) *Error {
	return &Error{Kind: kind, Statement: -1, Element: element, Value: value, Detail: detail}
}
