package policy

import "time"

// Request is one authorization question: may Principal do Action on
// Resource, with these condition keys, now?
type Request struct {
	Principal Principal
	Action    string // e.g. "s3:GetObject"; matched case-insensitively
	Resource  string // an ARN, e.g. "arn:aws:s3:::bucket/key"; case-sensitive
	// ResourceAccount owns the resource (the bucket owner). Empty means the
	// principal's own account.
	ResourceAccount string
	// Time is the clock reading for aws:CurrentTime and aws:EpochTime; the
	// zero Time leaves both keys absent.
	Time    time.Time
	Context Context // other condition keys
}

func newEvalCtx(req *Request) evalCtx {
	ec := evalCtx{req: req}
	ec.res, ec.resOK = splitARN(req.Resource)
	return ec
}

// applies reports whether the statement applies to the request and, if it
// has a Principal, how specifically that names the caller. Statements
// without Principal (identity policies) apply to the identity itself.
func (st *statement) applies(ec *evalCtx) (bool, strength) {
	if !st.matchAction(ec.req.Action) {
		return false, noMatch
	}
	str := byIdentity
	switch {
	case st.principal != nil:
		if str = st.principal.match(&ec.req.Principal); str == noMatch {
			return false, noMatch
		}
	case st.notPrincipal != nil:
		if st.notPrincipal.excludes(&ec.req.Principal) {
			return false, noMatch
		}
	}
	if st.hasResource && !st.matchResource(ec) {
		return false, noMatch
	}
	return st.conditions(ec), str
}

func (st *statement) matchAction(action string) bool {
	for i := range st.actions {
		if st.actions[i].match(action, nil) {
			return !st.notAction
		}
	}
	return st.notAction
}

func (st *statement) matchResource(ec *evalCtx) bool {
	for i := range st.resources {
		ap := &st.resources[i]
		if ap.any || (ec.resOK && ap.match(&ec.res, ec)) {
			return !st.notResource
		}
	}
	return st.notResource
}

// conditions ANDs the statement's conditions. A condition that cannot be
// evaluated (a request value of the wrong type for a typed operator) fails
// closed: it keeps an Allow from applying and lets a Deny apply.
func (st *statement) conditions(ec *evalCtx) bool {
	for i := range st.conds {
		switch st.conds[i].eval(ec) {
		case tFalse:
			return false
		case tErr:
			if st.effect == Allow {
				return false
			}
		}
	}
	return true
}

// scan evaluates every statement: the first Deny that applies, else the
// Allow that names the caller most specifically (-1 when none).
func (p *Policy) scan(ec *evalCtx) (deny, allow int, best strength) {
	deny, allow = -1, -1
	for i := range p.stmts {
		st := &p.stmts[i]
		ok, s := st.applies(ec)
		if !ok {
			continue
		}
		if st.effect == Deny {
			return i, -1, noMatch
		}
		if s > best {
			allow, best = i, s
		}
	}
	return deny, allow, best
}

// Result is the outcome of one policy for a request.
type Result struct {
	Effect    Effect // Deny if a Deny applies, Allow if an Allow does, else ""
	Statement int    // index of that statement, -1 if none
	Sid       string
}

// Evaluate applies this policy alone to req: an explicit Deny wins over an
// Allow. It ignores how the policy combines with others; use Decide for
// access decisions.
func (p *Policy) Evaluate(req Request) Result {
	ec := newEvalCtx(&req)
	deny, allow, _ := p.scan(&ec)
	switch {
	case deny >= 0:
		return Result{Effect: Deny, Statement: deny, Sid: p.stmts[deny].sid}
	case allow >= 0:
		return Result{Effect: Allow, Statement: allow, Sid: p.stmts[allow].sid}
	}
	return Result{Statement: -1}
}
