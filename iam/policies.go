package iam

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
)

// ManagedPolicy describes a customer managed policy.
type ManagedPolicy struct {
	Name, Path, ARN, PolicyID string
	Description               string
	DefaultVersionID          string
	AttachmentCount           int
	Created, Updated          time.Time
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	VersionID string
	Document  string
	IsDefault bool
	Created   time.Time
}

// CreatePolicyInput is the input of CreatePolicy.
type CreatePolicyInput struct {
	Name, Path, Document, Description string
}

func (s *Service) policyView(p *policyRecord) ManagedPolicy {
	return ManagedPolicy{Name: p.Name, Path: p.Path, ARN: policyARN(s.account.ID, p.Path, p.Name), PolicyID: p.ID,
		Description: p.Description, DefaultVersionID: p.Default, AttachmentCount: p.Attachments, Created: p.Created, Updated: p.Updated}
}

func versionView(p *policyRecord, v *policyVersionRecord) PolicyVersion {
	return PolicyVersion{VersionID: v.ID, Document: v.Document, IsDefault: v.ID == p.Default, Created: v.Created}
}

// policyNameOf returns the name in a policy ARN of this account.
func (s *Service) policyNameOf(arn string) (name, path string, err error) {
	acct, path, name, ok := splitEntityARN(arn, "policy")
	if !ok {
		return "", "", invalid("ARN %s is not valid.", arn)
	}
	if acct != s.account.ID || checkName("policyName", name, 1, maxPolicyNameLen) != nil {
		return "", "", noSuch(EntityPolicy, arn)
	}
	return name, path, nil
}

// policyByARN reads a managed policy; its path must match the ARN's.
func (s *Service) policyByARN(ctx context.Context, kv meta.KV, arn string) (*policyRecord, error) {
	t := &txn{ctx: ctx, kv: kv, seen: map[string]uint64{}}
	return t.policy(s, arn)
}

func (t *txn) policy(s *Service, arn string) (*policyRecord, error) {
	name, path, err := s.policyNameOf(arn)
	if err != nil {
		return nil, err
	}
	p := new(policyRecord)
	found, err := t.get(policyKey(name), p)
	if err != nil {
		return nil, err
	}
	if !found || p.Path != path || p.Name != name {
		return nil, noSuch(EntityPolicy, arn)
	}
	return p, nil
}

// CreatePolicy creates a customer managed policy with version v1 as default.
func (s *Service) CreatePolicy(ctx context.Context, in CreatePolicyInput) (ManagedPolicy, error) {
	if err := checkName("policyName", in.Name, 1, maxPolicyNameLen); err != nil {
		return ManagedPolicy{}, err
	}
	path, err := normPath("path", in.Path)
	if err != nil {
		return ManagedPolicy{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return ManagedPolicy{}, err
	}
	if _, err := s.checkDocument(in.Document, policy.KindIdentity, policy.MaxManagedPolicyChars, "PolicySize"); err != nil {
		return ManagedPolicy{}, err
	}
	var rec policyRecord
	err = s.update(ctx, func(t *txn) error {
		if found, err := t.get(policyKey(in.Name), new(policyRecord)); err != nil || found {
			if found {
				return alreadyExists(EntityPolicy, in.Name)
			}
			return err
		}
		id, err := s.newID(prefixPolicyID)
		if err != nil {
			return err
		}
		now := s.now()
		rec = policyRecord{Name: in.Name, Path: path, ID: id, Description: in.Description, Created: now, Updated: now,
			Default: "v1", NextVersion: 2, Versions: []policyVersionRecord{{ID: "v1", Document: in.Document, Created: now}}}
		return t.create(policyKey(in.Name), &rec)
	})
	if err != nil {
		return ManagedPolicy{}, err
	}
	return s.policyView(&rec), nil
}

// GetPolicy describes a managed policy.
func (s *Service) GetPolicy(ctx context.Context, arn string) (ManagedPolicy, error) {
	p, err := s.policyByARN(ctx, s.kv, arn)
	if err != nil {
		return ManagedPolicy{}, err
	}
	return s.policyView(p), nil
}

// ListPolicies lists managed policies by name (case-insensitive order).
func (s *Service) ListPolicies(ctx context.Context, opt ListOptions) ([]ManagedPolicy, string, error) {
	recs, next, err := listPage[policyRecord](ctx, s.kv, prefixPolicy, opt, func(p *policyRecord) string { return p.Path })
	out := make([]ManagedPolicy, len(recs))
	for i := range recs {
		out[i] = s.policyView(&recs[i])
	}
	return out, next, err
}

// DeletePolicy deletes a managed policy that is attached to nothing and
// has no version but the default.
func (s *Service) DeletePolicy(ctx context.Context, arn string) error {
	return s.update(ctx, func(t *txn) error {
		p, err := t.policy(s, arn)
		if err != nil {
			return err
		}
		if p.Attachments > 0 {
			return conflict("Cannot delete a policy attached to entities.")
		}
		if len(p.Versions) > 1 {
			return conflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		t.del(policyKey(p.Name))
		return nil
	})
}

// CreatePolicyVersion adds a version (at most 5 kept), optionally making
// it the default.
func (s *Service) CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool) (PolicyVersion, error) {
	if _, err := s.checkDocument(document, policy.KindIdentity, policy.MaxManagedPolicyChars, "PolicySize"); err != nil {
		return PolicyVersion{}, err
	}
	var out PolicyVersion
	err := s.update(ctx, func(t *txn) error {
		p, err := t.policy(s, arn)
		if err != nil {
			return err
		}
		if len(p.Versions) >= maxPolicyVersions {
			return newErr(ErrLimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		v := policyVersionRecord{ID: "v" + strconv.Itoa(p.NextVersion), Document: document, Created: s.now()}
		p.NextVersion++
		p.Versions = append(p.Versions, v)
		if setDefault {
			p.Default = v.ID
		}
		p.Updated = v.Created
		out = versionView(p, &v)
		return t.put(policyKey(p.Name), p)
	})
	return out, err
}

func checkVersionID(id string) error {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if !strings.HasPrefix(id, "v") || err != nil || n < 1 || strconv.Itoa(n) != id[1:] {
		return constraint(id, "versionId", `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	}
	return nil
}

// GetPolicyVersion returns one version of a managed policy.
func (s *Service) GetPolicyVersion(ctx context.Context, arn, versionID string) (PolicyVersion, error) {
	if err := checkVersionID(versionID); err != nil {
		return PolicyVersion{}, err
	}
	p, err := s.policyByARN(ctx, s.kv, arn)
	if err != nil {
		return PolicyVersion{}, err
	}
	v := p.version(versionID)
	if v == nil {
		return PolicyVersion{}, newErr(ErrNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, versionID)
	}
	return versionView(p, v), nil
}

// ListPolicyVersions lists a managed policy's versions, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, arn string) ([]PolicyVersion, error) {
	p, err := s.policyByARN(ctx, s.kv, arn)
	if err != nil {
		return nil, err
	}
	out := make([]PolicyVersion, 0, len(p.Versions))
	for i := len(p.Versions) - 1; i >= 0; i-- {
		out = append(out, versionView(p, &p.Versions[i]))
	}
	return out, nil
}

// DeletePolicyVersion deletes a version other than the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, arn, versionID string) error {
	if err := checkVersionID(versionID); err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		p, err := t.policy(s, arn)
		if err != nil {
			return err
		}
		if p.version(versionID) == nil {
			return newErr(ErrNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, versionID)
		}
		if p.Default == versionID {
			return conflict("Cannot delete the default version of a policy.")
		}
		for i := range p.Versions {
			if p.Versions[i].ID == versionID {
				p.Versions = append(p.Versions[:i], p.Versions[i+1:]...)
				break
			}
		}
		p.Updated = s.now()
		return t.put(policyKey(p.Name), p)
	})
}

// SetDefaultPolicyVersion makes a version the one in force.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error {
	if err := checkVersionID(versionID); err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		p, err := t.policy(s, arn)
		if err != nil {
			return err
		}
		if p.version(versionID) == nil {
			return newErr(ErrNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, versionID)
		}
		p.Default, p.Updated = versionID, s.now()
		return t.put(policyKey(p.Name), p)
	})
}
