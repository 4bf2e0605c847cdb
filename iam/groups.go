package iam

import (
	"context"
	"strings"
	"time"
)

// Group describes an IAM group.
type Group struct {
	Name, Path, ARN, GroupID string
	Created                  time.Time
}

func (s *Service) groupView(g *groupRecord) Group {
	return Group{Name: g.Name, Path: g.Path, ARN: groupARN(s.account.ID, g.Path, g.Name), GroupID: g.ID, Created: g.Created}
}

func (t *txn) group(name string) (*groupRecord, error) {
	if err := checkName("groupName", name, 1, maxGroupNameLen); err != nil {
		return nil, err
	}
	g := new(groupRecord)
	found, err := t.get(groupKey(name), g)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuch(EntityGroup, name)
	}
	return g, nil
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, name, path string) (Group, error) {
	if err := checkName("groupName", name, 1, maxGroupNameLen); err != nil {
		return Group{}, err
	}
	path, err := normPath("path", path)
	if err != nil {
		return Group{}, err
	}
	var g groupRecord
	err = s.update(ctx, func(t *txn) error {
		if found, err := t.get(groupKey(name), new(groupRecord)); err != nil || found {
			if found {
				return alreadyExists(EntityGroup, name)
			}
			return err
		}
		id, err := s.newID(prefixGroupID)
		if err != nil {
			return err
		}
		g = groupRecord{Name: name, Path: path, ID: id, Created: s.now()}
		return t.create(groupKey(name), &g)
	})
	if err != nil {
		return Group{}, err
	}
	return s.groupView(&g), nil
}

// GetGroup describes a group and lists its members.
func (s *Service) GetGroup(ctx context.Context, name string) (Group, []User, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	g, err := t.group(name)
	if err != nil {
		return Group{}, nil, err
	}
	users := make([]User, 0, len(g.Members))
	for _, m := range g.Members {
		u, err := t.user(m)
		if err != nil {
			return Group{}, nil, err
		}
		users = append(users, s.userView(u))
	}
	return s.groupView(g), users, nil
}

// ListGroups lists groups in name order.
func (s *Service) ListGroups(ctx context.Context, opt ListOptions) ([]Group, string, error) {
	recs, next, err := listPage[groupRecord](ctx, s.kv, prefixGroup, opt, func(g *groupRecord) string { return g.Path })
	out := make([]Group, len(recs))
	for i := range recs {
		out[i] = s.groupView(&recs[i])
	}
	return out, next, err
}

// ListGroupsForUser lists the groups a user is in.
func (s *Service) ListGroupsForUser(ctx context.Context, user string) ([]Group, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	u, err := t.user(user)
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(u.Groups))
	for _, name := range u.Groups {
		g, err := t.group(name)
		if err != nil {
			return nil, err
		}
		out = append(out, s.groupView(g))
	}
	return out, nil
}

// DeleteGroup deletes a group without members or policies.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	return s.update(ctx, func(t *txn) error {
		g, err := t.group(name)
		if err != nil {
			return err
		}
		switch {
		case len(g.Members) > 0:
			return conflict("Cannot delete entity, must remove users from group first.")
		case len(g.Inline) > 0:
			return conflict("Cannot delete entity, must delete policies first.")
		case len(g.Attached) > 0:
			return conflict("Cannot delete entity, must detach all policies first.")
		}
		t.del(groupKey(name))
		return nil
	})
}

// AddUserToGroup makes user a member of group (a no-op if it is one).
func (s *Service) AddUserToGroup(ctx context.Context, group, user string) error {
	return s.update(ctx, func(t *txn) error {
		g, err := t.group(group)
		if err != nil {
			return err
		}
		u, err := t.user(user)
		if err != nil {
			return err
		}
		if containsFold(u.Groups, group) {
			return nil
		}
		if len(u.Groups) >= maxGroupsPerUser {
			return quota("GroupsPerUser", maxGroupsPerUser)
		}
		u.Groups = append(u.Groups, strings.ToLower(group))
		g.Members = append(g.Members, strings.ToLower(user))
		if err := t.put(userKey(user), u); err != nil {
			return err
		}
		return t.put(groupKey(group), g)
	})
}

// RemoveUserFromGroup ends a membership.
func (s *Service) RemoveUserFromGroup(ctx context.Context, group, user string) error {
	return s.update(ctx, func(t *txn) error {
		g, err := t.group(group)
		if err != nil {
			return err
		}
		u, err := t.user(user)
		if err != nil {
			return err
		}
		if !containsFold(u.Groups, group) {
			return noSuch(EntityUser, user+" in group "+group)
		}
		u.Groups, g.Members = removeFold(u.Groups, group), removeFold(g.Members, user)
		if err := t.put(userKey(user), u); err != nil {
			return err
		}
		return t.put(groupKey(group), g)
	})
}
