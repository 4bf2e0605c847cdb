package policy

import (
	"fmt"
	"strconv"
)

// Named is a policy with the name the audit log should use for it
// ("user alice inline ReadHome", "bucket policy", ...).
type Named struct {
	Name   string
	Policy *Policy
}

// PolicySets are the policies that bear on one request.
type PolicySets struct {
	// Identity: the caller's inline policies, its groups' policies and the
	// managed policies attached to either (for a role session: the role's).
	Identity []Named
	// Session: the session policies of temporary credentials. When any are
	// given, identity-policy allows count only where a session policy also
	// allows. A federated user created without a session policy has no
	// identity permissions: pass no Identity for it.
	Session []Named
	// Resource: the resource's policy (the bucket policy; for AssumeRole
	// the role's trust policy).
	Resource []Named
}

// Source says which set held the deciding statement.
type Source uint8

// Sources.
const (
	SourceNone Source = iota
	SourceIdentity
	SourceSession
	SourceResource
)

func (s Source) String() string {
	switch s {
	case SourceIdentity:
		return "identity policy"
	case SourceSession:
		return "session policy"
	case SourceResource:
		return "resource policy"
	}
	return "none"
}

// Reason explains a Decision.
type Reason uint8

// Reasons.
const (
	ReasonImplicitDeny  Reason = iota // no statement allows
	ReasonExplicitDeny                // a Deny statement applies
	ReasonAllowed                     // an Allow statement grants it
	ReasonRoot                        // the account's root user, not explicitly denied
	ReasonSessionPolicy               // an Allow exists but no session policy allows it
	ReasonCrossAccount                // cross-account needs an Allow in both the caller's and the resource's policies
)

func (r Reason) String() string {
	switch r {
	case ReasonImplicitDeny:
		return "implicit deny"
	case ReasonExplicitDeny:
		return "explicit deny"
	case ReasonAllowed:
		return "allowed"
	case ReasonRoot:
		return "root user"
	case ReasonSessionPolicy:
		return "not allowed by the session policy"
	case ReasonCrossAccount:
		return "cross-account access needs both identity and resource policy"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Decision is the outcome of Decide and the statement that decided it
// (for ReasonSessionPolicy and ReasonCrossAccount: the Allow that was not
// enough). Statement is -1 when no statement decided.
type Decision struct {
	Effect    Effect
	Reason    Reason
	Source    Source
	Policy    string // the Named.Name of the deciding policy
	Statement int
	Sid       string
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Effect == Allow }

// String is for logs: `Deny (explicit deny) by resource policy "bucket
// policy" statement 2 "deny-deletes"`.
func (d Decision) String() string {
	s := fmt.Sprintf("%s (%s)", d.Effect, d.Reason)
	if d.Statement < 0 {
		return s
	}
	s += fmt.Sprintf(" by %s %q statement %d", d.Source, d.Policy, d.Statement)
	if d.Sid != "" {
		s += fmt.Sprintf(" %q", d.Sid)
	}
	return s
}

// hit is the outcome of one set of policies.
type hit struct {
	deny, allow bool
	src         Source
	name        string
	idx         int
	sid         string
	str         strength
}

func (h hit) decision(e Effect, r Reason) Decision {
	return Decision{Effect: e, Reason: r, Source: h.src, Policy: h.name, Statement: h.idx, Sid: h.sid}
}

// scanSet finds the first Deny in the set, else its most specific Allow.
func scanSet(set []Named, src Source, ec *evalCtx) hit {
	h := hit{src: src, idx: -1}
	for _, n := range set {
		if n.Policy == nil {
			continue
		}
		deny, allow, str := n.Policy.scan(ec)
		if deny >= 0 {
			return hit{deny: true, src: src, name: n.Name, idx: deny, sid: n.Policy.stmts[deny].sid}
		}
		if allow >= 0 && str > h.str {
			h = hit{allow: true, src: src, name: n.Name, idx: allow, sid: n.Policy.stmts[allow].sid, str: str}
		}
	}
	return h
}

// Decide combines the policies for one request as AWS's policy evaluation
// logic does, reduced to identity, session and resource policies:
//
//  1. An explicit Deny in any policy that applies denies (resource
//     policies are checked first, then identity, then session).
//  2. The account's root user is allowed everything else in its own
//     account; identity and session policies do not apply to it. (S3 lets
//     the bucket owner's root call GetBucketPolicy, PutBucketPolicy and
//     DeleteBucketPolicy even when the bucket policy denies it: the caller
//     implements that by leaving out the bucket policy for those calls.)
//  3. Anonymous, web-identity and service callers are allowed only by a
//     resource-policy Allow that names them ("*", Federated, Service).
//  4. Same account: allowed if an identity policy allows (and, for
//     temporary credentials with session policies, a session policy also
//     allows), or if a resource policy allows naming the caller: naming
//     the session's own ARN grants directly; naming the user, the role or
//     "*" is narrowed by the session policies; naming only the account
//     delegates to identity policies and grants nothing by itself.
//  5. Cross account (ResourceAccount differs): both the caller's identity
//     policies (narrowed by session policies) and the resource policy
//     must allow; the resource policy may name just the account.
//
// Permissions boundaries, SCPs and ACLs are not modelled.
func Decide(req Request, sets PolicySets) Decision {
	ec := newEvalCtx(&req)
	p := &req.Principal
	iamCaller := p.Type == PrincipalUser || p.Type == PrincipalAssumedRole || p.Type == PrincipalFederatedUser

	res := scanSet(sets.Resource, SourceResource, &ec)
	if res.deny {
		return res.decision(Deny, ReasonExplicitDeny)
	}
	var id, sess hit
	if iamCaller {
		if id = scanSet(sets.Identity, SourceIdentity, &ec); id.deny {
			return id.decision(Deny, ReasonExplicitDeny)
		}
		if sess = scanSet(sets.Session, SourceSession, &ec); sess.deny {
			return sess.decision(Deny, ReasonExplicitDeny)
		}
	}
	implicit := Decision{Effect: Deny, Reason: ReasonImplicitDeny, Statement: -1}
	sameAccount := req.ResourceAccount == "" || req.ResourceAccount == p.Account

	switch {
	case p.Type == PrincipalAccount && sameAccount:
		return Decision{Effect: Allow, Reason: ReasonRoot, Statement: -1}
	case p.Type == PrincipalAccount:
		// Another account's root has all its own account's permissions; the
		// resource policy must still allow.
		if res.allow {
			return res.decision(Allow, ReasonAllowed)
		}
		return implicit
	case !iamCaller:
		if res.allow && res.str >= byIdentity {
			return res.decision(Allow, ReasonAllowed)
		}
		return implicit
	}

	scoped := len(sets.Session) > 0
	inSession := !scoped || sess.allow
	if !sameAccount {
		switch {
		case id.allow && inSession && res.allow:
			return res.decision(Allow, ReasonAllowed)
		case id.allow && !inSession:
			return id.decision(Deny, ReasonSessionPolicy)
		case id.allow:
			return id.decision(Deny, ReasonCrossAccount)
		case res.allow:
			return res.decision(Deny, ReasonCrossAccount)
		}
		return implicit
	}
	switch {
	case id.allow && inSession:
		return id.decision(Allow, ReasonAllowed)
	case res.allow && res.str == bySessionID:
		return res.decision(Allow, ReasonAllowed)
	case res.allow && res.str == byIdentity && inSession:
		return res.decision(Allow, ReasonAllowed)
	case id.allow:
		return id.decision(Deny, ReasonSessionPolicy)
	case res.allow && res.str == byIdentity:
		return res.decision(Deny, ReasonSessionPolicy)
	}
	return implicit
}
