package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/filesphere/filesphere/iam/policy"
)

// Entity names a user, group or role: the holders of identity policies.
// The IAM API's Put/Get/Delete/ListUserPolicy, …GroupPolicy, …RolePolicy
// and Attach/Detach/ListAttached…Policies map onto one method each here.
type Entity struct {
	Type EntityType // EntityUser, EntityGroup or EntityRole
	Name string
}

// UserEntity, GroupEntity and RoleEntity name entities.
func UserEntity(name string) Entity  { return Entity{EntityUser, name} }
func GroupEntity(name string) Entity { return Entity{EntityGroup, name} }
func RoleEntity(name string) Entity  { return Entity{EntityRole, name} }

// AttachedPolicy is a managed policy attached to an entity.
type AttachedPolicy struct {
	PolicyName, PolicyARN string
}

// loaded is an entity record read in a txn.
type loaded struct {
	key    string
	rec    any
	holder *holder
	tags   *[]Tag // nil for groups (AWS does not tag groups)
	inline int    // the entity's inline policy size limit
	quota  string // its name in LimitExceeded messages
}

func (t *txn) entity(e Entity) (*loaded, error) {
	switch e.Type {
	case EntityUser:
		u, err := t.user(e.Name)
		if err != nil {
			return nil, err
		}
		return &loaded{userKey(e.Name), u, &u.holder, &u.Tags, policy.MaxUserInlineChars, "user"}, nil
	case EntityGroup:
		g, err := t.group(e.Name)
		if err != nil {
			return nil, err
		}
		return &loaded{groupKey(e.Name), g, &g.holder, nil, policy.MaxGroupInlineChars, "group"}, nil
	case EntityRole:
		r, err := t.role(e.Name)
		if err != nil {
			return nil, err
		}
		return &loaded{roleKey(e.Name), r, &r.holder, &r.Tags, policy.MaxRoleInlineChars, "role"}, nil
	}
	return nil, invalid("Entity type %s holds no policies.", e.Type)
}

func checkPolicyName(name string) error { return checkName("policyName", name, 1, maxPolicyNameLen) }

func iamSize(doc string) int { return policy.IAMSize([]byte(doc)) }

// PutInlinePolicy adds or replaces an inline policy of e. The inline
// policies of an entity together are limited as in AWS (users 2048, groups
// 5120, roles 10240 characters without white space).
func (s *Service) PutInlinePolicy(ctx context.Context, e Entity, name, document string) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	if _, err := s.checkDocument(document, policy.KindIdentity, maxPolicyDocLen, "PolicySize"); err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		l, err := t.entity(e)
		if err != nil {
			return err
		}
		if l.holder.inlineSize(name)+iamSize(document) > l.inline {
			return newErr(ErrLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", l.inline, l.quota, e.Name)
		}
		i := slices.IndexFunc(l.holder.Inline, func(p inlinePolicy) bool { return p.Name == name })
		if i >= 0 {
			l.holder.Inline[i].Document = document
		} else {
			l.holder.Inline = append(l.holder.Inline, inlinePolicy{Name: name, Document: document})
		}
		return t.put(l.key, l.rec)
	})
}

// GetInlinePolicy returns an inline policy's document.
func (s *Service) GetInlinePolicy(ctx context.Context, e Entity, name string) (string, error) {
	if err := checkPolicyName(name); err != nil {
		return "", err
	}
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	l, err := t.entity(e)
	if err != nil {
		return "", err
	}
	for _, p := range l.holder.Inline {
		if p.Name == name {
			return p.Document, nil
		}
	}
	return "", newErr(ErrNoSuchEntity, "The %s policy with name %s cannot be found.", e.Type, name)
}

// DeleteInlinePolicy deletes an inline policy.
func (s *Service) DeleteInlinePolicy(ctx context.Context, e Entity, name string) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		l, err := t.entity(e)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(l.holder.Inline, func(p inlinePolicy) bool { return p.Name == name })
		if i < 0 {
			return newErr(ErrNoSuchEntity, "The %s policy with name %s cannot be found.", e.Type, name)
		}
		l.holder.Inline = slices.Delete(l.holder.Inline, i, i+1)
		return t.put(l.key, l.rec)
	})
}

// ListInlinePolicies lists the names of e's inline policies, sorted.
func (s *Service) ListInlinePolicies(ctx context.Context, e Entity) ([]string, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	l, err := t.entity(e)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l.holder.Inline))
	for _, p := range l.holder.Inline {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out, nil
}

// AttachPolicy attaches a managed policy to e (a no-op if attached); at
// most 10 per entity.
func (s *Service) AttachPolicy(ctx context.Context, e Entity, arn string) error {
	return s.update(ctx, func(t *txn) error {
		l, err := t.entity(e)
		if err != nil {
			return err
		}
		p, err := t.policy(s, arn)
		if err != nil {
			return err
		}
		if slices.Contains(l.holder.Attached, arn) {
			return nil
		}
		if len(l.holder.Attached) >= maxAttached {
			return quota("PoliciesPer"+strings.ToUpper(l.quota[:1])+l.quota[1:], maxAttached)
		}
		l.holder.Attached = append(l.holder.Attached, arn)
		p.Attachments++
		if err := t.put(l.key, l.rec); err != nil {
			return err
		}
		return t.put(policyKey(p.Name), p)
	})
}

// DetachPolicy detaches a managed policy from e.
func (s *Service) DetachPolicy(ctx context.Context, e Entity, arn string) error {
	return s.update(ctx, func(t *txn) error {
		l, err := t.entity(e)
		if err != nil {
			return err
		}
		i := slices.Index(l.holder.Attached, arn)
		if i < 0 {
			return newErr(ErrNoSuchEntity, "Policy %s was not found.", arn)
		}
		l.holder.Attached = slices.Delete(l.holder.Attached, i, i+1)
		if err := t.put(l.key, l.rec); err != nil {
			return err
		}
		p, err := t.policy(s, arn)
		if err != nil {
			return err
		}
		p.Attachments--
		return t.put(policyKey(p.Name), p)
	})
}

// ListAttachedPolicies lists the managed policies attached to e.
func (s *Service) ListAttachedPolicies(ctx context.Context, e Entity) ([]AttachedPolicy, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	l, err := t.entity(e)
	if err != nil {
		return nil, err
	}
	out := make([]AttachedPolicy, 0, len(l.holder.Attached))
	for _, arn := range l.holder.Attached {
		_, _, name, _ := splitEntityARN(arn, "policy")
		out = append(out, AttachedPolicy{PolicyName: name, PolicyARN: arn})
	}
	return out, nil
}

// TagEntity adds or replaces tags of a user or role (at most 50).
func (s *Service) TagEntity(ctx context.Context, e Entity, tags []Tag) error {
	if _, err := mergeTags(nil, tags); err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		l, err := t.entity(e)
		if err != nil {
			return err
		}
		if l.tags == nil {
			return invalid("Groups cannot be tagged.")
		}
		merged, err := mergeTags(*l.tags, tags)
		if err != nil {
			return err
		}
		*l.tags = merged
		return t.put(l.key, l.rec)
	})
}

// UntagEntity removes tags by key (ignoring case).
func (s *Service) UntagEntity(ctx context.Context, e Entity, keys []string) error {
	return s.update(ctx, func(t *txn) error {
		l, err := t.entity(e)
		if err != nil {
			return err
		}
		if l.tags == nil {
			return invalid("Groups cannot be tagged.")
		}
		*l.tags = removeTags(*l.tags, keys)
		return t.put(l.key, l.rec)
	})
}

// ListEntityTags returns a user's or role's tags.
func (s *Service) ListEntityTags(ctx context.Context, e Entity) ([]Tag, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	l, err := t.entity(e)
	if err != nil {
		return nil, err
	}
	if l.tags == nil {
		return nil, invalid("Groups cannot be tagged.")
	}
	return slices.Clone(*l.tags), nil
}
