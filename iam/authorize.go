package iam

import (
	"context"

	"github.com/filesphere/filesphere/iam/policy"
)

// AuthRequest is one authorization question for Authorize.
type AuthRequest struct {
	// Caller is the authenticated credential (from Credentials, after the
	// signature and session token checked); nil for an anonymous request.
	Caller *Credential
	// Action ("s3:GetObject") and Resource (an ARN, policy.S3ObjectARN…).
	Action   string
	Resource string
	// ResourceAccount owns the resource (the bucket owner's account id);
	// empty means this account.
	ResourceAccount string
	// ResourcePolicy is the resource's policy (the bucket policy), nil if
	// none; ResourcePolicyName names it in decisions ("bucket policy").
	ResourcePolicy     *policy.Policy
	ResourcePolicyName string
	// Context holds the request's condition keys (aws:SourceIp,
	// aws:SecureTransport, s3:prefix, …). Authorize sets
	// aws:SourceIdentity in it for sessions that have one; the keys
	// derived from the principal and the clock come from policy.Decide.
	Context policy.Context
}

// refresh returns c as of the current IAM generation: c itself when
// nothing changed since it was resolved, else resolved anew (so a user
// disabled, a key deactivated or a policy changed since authentication
// counts).
func (s *Service) refresh(ctx context.Context, c *Credential) (*Credential, error) {
	if c.kind == credRoot {
		return c, nil
	}
	fresh, err := s.current(ctx, c.AccessKeyID)
	if err != nil {
		return nil, err
	}
	if fresh.Temporary && !s.now().Before(fresh.Expiration) {
		return nil, authErr(ErrExpiredToken, c.AccessKeyID)
	}
	return fresh, nil
}

// Authorize decides r with policy.Decide: the caller's identity policies
// (a user's inline and attached policies and its groups'; for a role
// session the role's, narrowed by the session policies), the resource
// policy given, the caller as Principal and the injected clock. The root
// user is allowed everything not explicitly denied by the resource policy;
// an anonymous caller only what the resource policy grants to "*".
//
// The error is non-nil when the caller's credential no longer holds
// (ErrInvalidAccessKeyID, ErrAccessKeyInactive, ErrUserDisabled,
// ErrExpiredToken) or the KV failed; the Decision is then a Deny.
func (s *Service) Authorize(ctx context.Context, r AuthRequest) (policy.Decision, error) {
	req := policy.Request{Action: r.Action, Resource: r.Resource, ResourceAccount: r.ResourceAccount,
		Time: s.now(), Context: r.Context}
	var sets policy.PolicySets
	if r.Caller != nil {
		c, err := s.refresh(ctx, r.Caller)
		if err != nil {
			return policy.Decision{Effect: policy.Deny, Reason: policy.ReasonImplicitDeny, Statement: -1}, err
		}
		req.Principal = c.Principal
		sets.Identity, sets.Session = c.identity, c.sessionSets
		if c.SourceIdentity != "" {
			req.Context.Set("aws:SourceIdentity", c.SourceIdentity)
		}
	}
	var res [1]policy.Named
	if r.ResourcePolicy != nil {
		name := r.ResourcePolicyName
		if name == "" {
			name = "resource policy"
		}
		res[0] = policy.Named{Name: name, Policy: r.ResourcePolicy}
		sets.Resource = res[:]
	}
	return policy.Decide(req, sets), nil
}
