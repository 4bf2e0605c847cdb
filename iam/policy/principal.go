package policy

import (
	"slices"
	"strconv"
	"strings"
)

// PrincipalType is the kind of caller. The zero value is Anonymous, so a
// Principal left unset has the least access.
type PrincipalType uint8

// Principal types. The first five are the values of aws:PrincipalType.
const (
	PrincipalAnonymous     PrincipalType = iota // unauthenticated
	PrincipalAccount                            // the account's root user
	PrincipalUser                               // an IAM user
	PrincipalAssumedRole                        // a role session (temporary credentials)
	PrincipalFederatedUser                      // a federated user session (GetFederationToken)
	PrincipalWebIdentity                        // a web-identity caller, matched by Federated (trust policies)
	PrincipalService                            // a service, matched by Service
)

func (t PrincipalType) String() string {
	switch t {
	case PrincipalAnonymous:
		return "Anonymous"
	case PrincipalAccount:
		return "Account"
	case PrincipalUser:
		return "User"
	case PrincipalAssumedRole:
		return "AssumedRole"
	case PrincipalFederatedUser:
		return "FederatedUser"
	case PrincipalWebIdentity:
		return "WebIdentity"
	case PrincipalService:
		return "Service"
	}
	return "PrincipalType(" + strconv.Itoa(int(t)) + ")"
}

// Principal describes who makes a request, as authentication established
// it. It supplies the Principal-element match and the aws:username,
// aws:userid, aws:PrincipalType, aws:PrincipalArn, aws:PrincipalAccount and
// aws:PrincipalTag/* condition keys.
type Principal struct {
	Type    PrincipalType
	Account string // 12-digit account id (empty for Anonymous)
	// ARN of the caller: arn:aws:iam::ACCT:root, arn:aws:iam::ACCT:user/PATH/NAME,
	// arn:aws:sts::ACCT:assumed-role/ROLE/SESSION, arn:aws:sts::ACCT:federated-user/NAME.
	ARN string
	// RoleARN is, for an AssumedRole, the role's ARN
	// (arn:aws:iam::ACCT:role/PATH/ROLE); it is the session's aws:PrincipalArn.
	RoleARN     string
	UserID      string            // aws:userid (e.g. AIDA..., or ROLEID:SESSION)
	Username    string            // aws:username, set for Users only
	CanonicalID string            // the account's canonical id, for CanonicalUser
	Tags        map[string]string // principal (or session) tags; keys unique ignoring case
	Provider    string            // WebIdentity: the identity provider, for Federated
	Service     string            // Service: the service principal name
}

// principalArn is the aws:PrincipalArn value: for a role session the role.
func (p *Principal) principalArn() string {
	if p.Type == PrincipalAssumedRole && p.RoleARN != "" {
		return p.RoleARN
	}
	if p.Type == PrincipalAnonymous || p.Type == PrincipalWebIdentity || p.Type == PrincipalService {
		return ""
	}
	return p.ARN
}

// strength is how specifically a Principal element names the caller;
// Decide needs it (see Decide).
type strength uint8

const (
	noMatch     strength = iota
	byAccount            // the caller's account (root ARN, account id, canonical id)
	byIdentity           // the caller itself, its role, "*", a service or a provider
	bySessionID          // the session's own ARN (assumed-role or federated-user session)
)

// principalSet is a compiled Principals value.
type principalSet struct {
	wildcard  bool
	accounts  []string // account ids (from ids and root ARNs)
	arns      []string // user, role and session ARNs
	services  []string
	federated []string
	canonical []string
}

// compilePrincipals validates p. AWS allows no partial wildcards in
// principals: "*" alone, account ids and exact ARNs.
func compilePrincipals(p *Principals, element string) (*principalSet, error) {
	if p.Wildcard && len(p.AWS)+len(p.Service)+len(p.Federated)+len(p.CanonicalUser) > 0 {
		return nil, &Error{Kind: ErrBadPrincipal, Element: element, Detail: `"*" stands alone`}
	}
	ps := &principalSet{wildcard: p.Wildcard}
	for _, v := range p.AWS {
		switch {
		case v == "*":
			ps.wildcard = true
		case isAccountID(v):
			ps.accounts = append(ps.accounts, v)
		default:
			a, err := ParseARN(v)
			if err != nil || strings.ContainsAny(v, "*?") || !isAccountID(a.Account) || a.Region != "" {
				return nil, &Error{Kind: ErrBadPrincipal, Element: element, Value: v, Detail: "must be \"*\", an account id or the exact ARN of an account, user, role or session"}
			}
			switch {
			case a.Service == "iam" && a.Resource == "root":
				ps.accounts = append(ps.accounts, a.Account)
			case a.Service == "iam" && (hasNamedPrefix(a.Resource, "user/") || hasNamedPrefix(a.Resource, "role/")):
				ps.arns = append(ps.arns, v)
			case a.Service == "sts" && (validSession(a.Resource) || hasNamedPrefix(a.Resource, "federated-user/")):
				ps.arns = append(ps.arns, v)
			default:
				return nil, &Error{Kind: ErrBadPrincipal, Element: element, Value: v, Detail: "not an account, user, role or session ARN"}
			}
		}
	}
	for _, l := range []struct {
		vals []string
		dst  *[]string
	}{{p.Service, &ps.services}, {p.Federated, &ps.federated}, {p.CanonicalUser, &ps.canonical}} {
		for _, v := range l.vals {
			if v == "" || strings.ContainsAny(v, "*? \t\r\n") {
				return nil, &Error{Kind: ErrBadPrincipal, Element: element, Value: v, Detail: "must be an exact name without wildcards"}
			}
			*l.dst = append(*l.dst, v)
		}
	}
	return ps, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func hasNamedPrefix(res, prefix string) bool {
	rest, ok := strings.CutPrefix(res, prefix)
	return ok && rest != "" && !strings.HasSuffix(rest, "/")
}

func validSession(res string) bool {
	rest, ok := strings.CutPrefix(res, "assumed-role/")
	if !ok {
		return false
	}
	role, session, ok := strings.Cut(rest, "/")
	return ok && role != "" && session != "" && !strings.Contains(session, "/")
}

// identity is one link of the caller's chain of identities: the account,
// then (for sessions) the role, then the caller's own ARN.
type identity struct {
	kind  uint8 // idAccount, idARN, idSession, idService, idProvider, idAnonymous
	value string
}

const (
	idAccount uint8 = iota
	idARN
	idSession
	idService
	idProvider
	idAnonymous
)

// chain lists the identities a Principal element can name for p. It is a
// fixed array so that building it never allocates.
func (p *Principal) chain() (c [3]identity, n int) {
	switch p.Type {
	case PrincipalAccount:
		c[0] = identity{idAccount, p.Account}
		return c, 1
	case PrincipalUser:
		c[0], c[1] = identity{idAccount, p.Account}, identity{idARN, p.ARN}
		return c, 2
	case PrincipalAssumedRole:
		c[0], c[1], c[2] = identity{idAccount, p.Account}, identity{idARN, p.RoleARN}, identity{idSession, p.ARN}
		return c, 3
	case PrincipalFederatedUser:
		c[0], c[1] = identity{idAccount, p.Account}, identity{idSession, p.ARN}
		return c, 2
	case PrincipalWebIdentity:
		c[0] = identity{idProvider, p.Provider}
		return c, 1
	case PrincipalService:
		c[0] = identity{idService, p.Service}
		return c, 1
	}
	c[0] = identity{kind: idAnonymous}
	return c, 1
}

// lists reports whether the set names identity id of principal p.
func (ps *principalSet) lists(id identity, p *Principal) strength {
	if ps.wildcard {
		return byIdentity
	}
	if id.value == "" && id.kind != idAccount {
		return noMatch
	}
	switch id.kind {
	case idAccount:
		if (id.value != "" && slices.Contains(ps.accounts, id.value)) ||
			(p.CanonicalID != "" && slices.Contains(ps.canonical, p.CanonicalID)) {
			return byAccount
		}
	case idARN:
		if slices.Contains(ps.arns, id.value) {
			return byIdentity
		}
	case idSession:
		if slices.Contains(ps.arns, id.value) {
			return bySessionID
		}
	case idService:
		if slices.Contains(ps.services, id.value) {
			return byIdentity
		}
	case idProvider:
		if slices.Contains(ps.federated, id.value) {
			return byIdentity
		}
	}
	return noMatch
}

// match is the Principal element: the strongest link of the chain named.
func (ps *principalSet) match(p *Principal) strength {
	c, n := p.chain()
	best := noMatch
	for i := 0; i < n; i++ {
		best = max(best, ps.lists(c[i], p))
	}
	return best
}

// excludes is the NotPrincipal element: the caller is excluded only when
// every link of its chain is listed. So a NotPrincipal naming a user but
// not its account still applies to the user, as AWS documents.
func (ps *principalSet) excludes(p *Principal) bool {
	c, n := p.chain()
	for i := 0; i < n; i++ {
		if ps.lists(c[i], p) == noMatch {
			return false
		}
	}
	return true
}
