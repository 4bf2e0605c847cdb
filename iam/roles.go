package iam

import (
	"context"
	"slices"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
)

// Role describes an IAM role.
type Role struct {
	Name, Path, ARN, RoleID string
	Description             string
	MaxSessionDuration      int // seconds
	TrustPolicy             string
	Created                 time.Time
	Tags                    []Tag
}

// CreateRoleInput is the input of CreateRole. MaxSessionDuration 0 means
// 3600 seconds.
type CreateRoleInput struct {
	Name, Path, TrustPolicy, Description string
	MaxSessionDuration                   int
	Tags                                 []Tag
}

func (s *Service) roleView(r *roleRecord) Role {
	return Role{Name: r.Name, Path: r.Path, ARN: roleARN(s.account.ID, r.Path, r.Name), RoleID: r.ID,
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration, TrustPolicy: r.Trust,
		Created: r.Created, Tags: slices.Clone(r.Tags)}
}

func (t *txn) role(name string) (*roleRecord, error) {
	if err := checkName("roleName", name, 1, maxRoleNameLen); err != nil {
		return nil, err
	}
	r := new(roleRecord)
	found, err := t.get(roleKey(name), r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuch(EntityRole, name)
	}
	return r, nil
}

func checkMaxSession(d int) error {
	if d < defaultMaxRoleSession || d > maxRoleSessionLimit {
		return constraint("", "maxSessionDuration", "Member must have value between 3600 and 43200")
	}
	return nil
}

func (s *Service) checkTrust(doc string) error {
	_, err := s.checkDocument(doc, policy.KindTrust, policy.MaxTrustPolicyChars, "ACLSizePerRole")
	return err
}

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, in CreateRoleInput) (Role, error) {
	if err := checkName("roleName", in.Name, 1, maxRoleNameLen); err != nil {
		return Role{}, err
	}
	path, err := normPath("path", in.Path)
	if err != nil {
		return Role{}, err
	}
	if in.MaxSessionDuration == 0 {
		in.MaxSessionDuration = defaultMaxRoleSession
	}
	if err := checkMaxSession(in.MaxSessionDuration); err != nil {
		return Role{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return Role{}, err
	}
	if err := s.checkTrust(in.TrustPolicy); err != nil {
		return Role{}, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return Role{}, err
	}
	var r roleRecord
	err = s.update(ctx, func(t *txn) error {
		if found, err := t.get(roleKey(in.Name), new(roleRecord)); err != nil || found {
			if found {
				return alreadyExists(EntityRole, in.Name)
			}
			return err
		}
		id, err := s.newID(prefixRoleID)
		if err != nil {
			return err
		}
		r = roleRecord{Name: in.Name, Path: path, ID: id, Created: s.now(), Description: in.Description,
			MaxSessionDuration: in.MaxSessionDuration, Trust: in.TrustPolicy, Tags: tags}
		return t.create(roleKey(in.Name), &r)
	})
	if err != nil {
		return Role{}, err
	}
	return s.roleView(&r), nil
}

// GetRole describes a role.
func (s *Service) GetRole(ctx context.Context, name string) (Role, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	r, err := t.role(name)
	if err != nil {
		return Role{}, err
	}
	return s.roleView(r), nil
}

// ListRoles lists roles in name order.
func (s *Service) ListRoles(ctx context.Context, opt ListOptions) ([]Role, string, error) {
	recs, next, err := listPage[roleRecord](ctx, s.kv, prefixRole, opt, func(r *roleRecord) string { return r.Path })
	out := make([]Role, len(recs))
	for i := range recs {
		out[i] = s.roleView(&recs[i])
	}
	return out, next, err
}

// DeleteRole deletes a role without policies. Its sessions stop working.
func (s *Service) DeleteRole(ctx context.Context, name string) error {
	return s.update(ctx, func(t *txn) error {
		r, err := t.role(name)
		if err != nil {
			return err
		}
		switch {
		case len(r.Inline) > 0:
			return conflict("Cannot delete entity, must delete policies first.")
		case len(r.Attached) > 0:
			return conflict("Cannot delete entity, must detach all policies first.")
		}
		t.del(roleKey(name))
		return nil
	})
}

// UpdateRole changes a role's description (nil leaves it) and maximum
// session duration (0 leaves it).
func (s *Service) UpdateRole(ctx context.Context, name string, description *string, maxSessionDuration int) error {
	if description != nil {
		if err := checkDescription(*description); err != nil {
			return err
		}
	}
	if maxSessionDuration != 0 {
		if err := checkMaxSession(maxSessionDuration); err != nil {
			return err
		}
	}
	return s.update(ctx, func(t *txn) error {
		r, err := t.role(name)
		if err != nil {
			return err
		}
		if description != nil {
			r.Description = *description
		}
		if maxSessionDuration != 0 {
			r.MaxSessionDuration = maxSessionDuration
		}
		return t.put(roleKey(name), r)
	})
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, name, document string) error {
	if err := s.checkTrust(document); err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		r, err := t.role(name)
		if err != nil {
			return err
		}
		r.Trust = document
		return t.put(roleKey(name), r)
	})
}
