package policy

import "strings"

// Kind is where a policy is attached; validation differs by kind.
type Kind uint8

const (
	// KindIdentity: user, group and role inline policies, managed policies
	// and session policies. No Principal; Resource required; Sids
	// alphanumeric; only tab, LF, CR and U+0020-U+00FF in the text.
	KindIdentity Kind = iota + 1
	// KindResource: bucket policies. Principal or NotPrincipal required
	// (NotPrincipal only with Deny); Resource required.
	KindResource
	// KindTrust: role trust policies. Principal required; no NotPrincipal,
	// Resource or NotResource; character set and Sids as for identity.
	KindTrust
)

func (k Kind) String() string {
	switch k {
	case KindIdentity:
		return "identity"
	case KindResource:
		return "resource"
	case KindTrust:
		return "trust"
	}
	return "unknown"
}

// Policy is a validated, compiled policy. It is immutable and safe for
// concurrent use; wildcards, CIDRs, numbers and dates are compiled once.
type Policy struct {
	doc   Document
	kind  Kind
	stmts []statement
}

type statement struct {
	effect       Effect
	sid          string
	principal    *principalSet // nil when absent
	notPrincipal *principalSet
	actions      []pattern
	notAction    bool
	resources    []arnPattern
	notResource  bool
	hasResource  bool
	conds        []cond
}

// Parse reads and validates a JSON policy of the given kind. Its error is
// an *Error (see the Err* kinds). Callers check size limits themselves
// (see MaxBucketPolicyBytes and IAMSize).
func Parse(data []byte, kind Kind) (*Policy, error) {
	doc, err := ParseDocument(data)
	if err != nil {
		return nil, err
	}
	return Compile(doc, kind)
}

// iamCharacters enforces the character set IAM allows in policies (tab,
// LF, CR and U+0020-U+00FF) on every string of the document, escaped or not.
func iamCharacters(doc *Document) error {
	check := func(stmt int, element string, vals ...string) error {
		for _, v := range vals {
			for _, r := range v {
				if !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xFF)) {
					return &Error{Kind: ErrBadCharacter, Statement: stmt, Element: element, Value: string(r)}
				}
			}
		}
		return nil
	}
	if err := check(-1, "", doc.Version, doc.ID); err != nil {
		return err
	}
	for i, s := range doc.Statement {
		lists := [][]string{{s.Sid, string(s.Effect)}, s.Action, s.NotAction, s.Resource, s.NotResource}
		for _, p := range []*Principals{s.Principal, s.NotPrincipal} {
			if p != nil {
				lists = append(lists, p.AWS, p.Service, p.Federated, p.CanonicalUser)
			}
		}
		for _, c := range s.Condition {
			lists = append(lists, []string{c.Operator, c.Key}, c.Values)
		}
		for _, l := range lists {
			if err := check(i, "", l...); err != nil {
				err.(*Error).Sid = s.Sid
				return err
			}
		}
	}
	return nil
}

// Compile validates doc as a policy of the given kind and compiles it. The
// Policy keeps its own copy of doc (with Conditions sorted).
func Compile(doc Document, kind Kind) (*Policy, error) {
	if kind < KindIdentity || kind > KindTrust {
		return nil, docErr(ErrSyntax, "", "", "unknown policy kind")
	}
	vars := false
	switch doc.Version {
	case Version2012:
		vars = true
	case Version2008, "":
	default:
		return nil, docErr(ErrUnknownVersion, "Version", doc.Version, "use "+Version2012)
	}
	if len(doc.Statement) == 0 {
		return nil, docErr(ErrNoStatement, "Statement", "", "")
	}
	if kind == KindIdentity || kind == KindTrust {
		if err := iamCharacters(&doc); err != nil {
			return nil, err
		}
	}
	doc = doc.clone()
	p := &Policy{doc: doc, kind: kind, stmts: make([]statement, len(doc.Statement))}
	sids := map[string]bool{}
	for i := range doc.Statement {
		s := &doc.Statement[i]
		sortConditions(s.Condition)
		st, err := compileStatement(s, kind, vars)
		if err == nil && s.Sid != "" {
			if sids[s.Sid] {
				err = &Error{Kind: ErrDuplicateSid, Element: "Sid", Value: s.Sid}
			}
			sids[s.Sid] = true
		}
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				e = &Error{Kind: ErrSyntax, Detail: err.Error()}
			}
			e.Statement, e.Sid = i, s.Sid
			return nil, e
		}
		p.stmts[i] = st
	}
	return p, nil
}

func compileStatement(s *Statement, kind Kind, vars bool) (statement, error) {
	st := statement{effect: s.Effect, sid: s.Sid}
	if s.Effect != Allow && s.Effect != Deny {
		return st, &Error{Kind: ErrBadEffect, Element: "Effect", Value: string(s.Effect)}
	}
	if kind != KindResource && !alnum(s.Sid) {
		return st, &Error{Kind: ErrBadSid, Element: "Sid", Value: s.Sid, Detail: "IAM allows only A-Z, a-z and 0-9"}
	}

	// Principal / NotPrincipal.
	hasP, hasNP := s.Principal != nil, s.NotPrincipal != nil
	switch {
	case hasP && hasNP:
		return st, &Error{Kind: ErrConflictingElements, Element: "Principal", Detail: "Principal and NotPrincipal"}
	case kind == KindIdentity && (hasP || hasNP):
		return st, &Error{Kind: ErrElementNotAllowed, Element: elementName(hasP, "Principal", "NotPrincipal"), Detail: "an identity policy applies to the identity it is attached to"}
	case kind == KindTrust && hasNP:
		return st, &Error{Kind: ErrElementNotAllowed, Element: "NotPrincipal", Detail: "not supported in a trust policy"}
	case kind != KindIdentity && !hasP && !hasNP:
		return st, &Error{Kind: ErrMissingPrincipal, Element: "Principal"}
	case hasNP && s.Effect != Deny:
		return st, &Error{Kind: ErrElementNotAllowed, Element: "NotPrincipal", Detail: "NotPrincipal is supported only with Deny"}
	}
	var err error
	if hasP {
		if st.principal, err = compilePrincipals(s.Principal, "Principal"); err != nil {
			return st, err
		}
	}
	if hasNP {
		if st.notPrincipal, err = compilePrincipals(s.NotPrincipal, "NotPrincipal"); err != nil {
			return st, err
		}
	}

	// Action / NotAction.
	actions, name, err := pick(s.Action, s.NotAction, "Action", "NotAction")
	if err != nil {
		return st, err
	}
	if actions == nil {
		return st, &Error{Kind: ErrMissingAction, Element: "Action"}
	}
	st.notAction = name == "NotAction"
	for _, a := range actions {
		if !validAction(a) {
			return st, &Error{Kind: ErrBadAction, Element: name, Value: a, Detail: `must be "*" or service:action`}
		}
		p, _ := newPattern(a, false, true, true)
		st.actions = append(st.actions, p)
	}

	// Resource / NotResource.
	resources, name, err := pick(s.Resource, s.NotResource, "Resource", "NotResource")
	if err != nil {
		return st, err
	}
	switch {
	case kind == KindTrust && resources != nil:
		return st, &Error{Kind: ErrElementNotAllowed, Element: name, Detail: "a trust policy's resource is its role"}
	case kind != KindTrust && resources == nil:
		return st, &Error{Kind: ErrMissingResource, Element: "Resource"}
	}
	st.notResource, st.hasResource = name == "NotResource", resources != nil
	for _, r := range resources {
		ap, err := compileARNPattern(r, vars)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Element = name
				return st, e
			}
			return st, &Error{Kind: ErrBadARN, Element: name, Value: r, Detail: `must be "*" or arn:partition:service:region:account:resource`}
		}
		st.resources = append(st.resources, ap)
	}

	for i, c := range s.Condition {
		// JSON cannot say the same operator and key twice (Compile of a
		// built Document could; it would not survive marshalling).
		if i > 0 && c.Operator == s.Condition[i-1].Operator && c.Key == s.Condition[i-1].Key {
			return st, &Error{Kind: ErrBadConditionKey, Element: "Condition", Value: c.Key, Detail: "repeated under " + c.Operator}
		}
		cc, err := compileCondition(c, vars)
		if err != nil {
			return st, err
		}
		st.conds = append(st.conds, cc)
	}
	return st, nil
}

// pick returns whichever of an element and its Not form is present (an
// empty list counts as absent).
func pick(el, notEl []string, name, notName string) ([]string, string, error) {
	switch {
	case len(el) > 0 && len(notEl) > 0:
		return nil, "", &Error{Kind: ErrConflictingElements, Element: name, Detail: name + " and " + notName}
	case len(el) > 0:
		return el, name, nil
	case len(notEl) > 0:
		return notEl, notName, nil
	}
	return nil, name, nil
}

func elementName(first bool, a, b string) string {
	if first {
		return a
	}
	return b
}

// validAction: "*" or vendor:action, the vendor plain, the action name
// non-empty and free of spaces.
func validAction(a string) bool {
	if a == "*" {
		return true
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || strings.ContainsAny(name, " \t\r\n:") {
		return false
	}
	for i := 0; i < len(svc); i++ {
		c := svc[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Kind reports the kind the policy was validated as.
func (p *Policy) Kind() Kind { return p.kind }

// Document returns a copy of the policy's document.
func (p *Policy) Document() Document { return p.doc.clone() }

// MarshalJSON writes the policy's document in canonical form.
func (p *Policy) MarshalJSON() ([]byte, error) { return p.doc.MarshalJSON() }
