package iam

import (
	"context"
	"slices"
	"strings"
	"time"
)

// User describes an IAM user.
type User struct {
	Name, Path, ARN, UserID string
	Created                 time.Time
	Enabled                 bool
	Tags                    []Tag
}

// CreateUserInput is the input of CreateUser.
type CreateUserInput struct {
	Name, Path string
	Tags       []Tag
}

func (s *Service) userView(u *userRecord) User {
	return User{Name: u.Name, Path: u.Path, ARN: userARN(s.account.ID, u.Path, u.Name), UserID: u.ID,
		Created: u.Created, Enabled: !u.Disabled, Tags: slices.Clone(u.Tags)}
}

// t.user reads an existing user or fails with NoSuchEntity.
func (t *txn) user(name string) (*userRecord, error) {
	if err := checkName("userName", name, 1, maxGroupNameLen); err != nil {
		return nil, err
	}
	u := new(userRecord)
	found, err := t.get(userKey(name), u)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuch(EntityUser, name)
	}
	return u, nil
}

// CreateUser creates an enabled user.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (User, error) {
	if err := checkName("userName", in.Name, 1, maxUserNameLen); err != nil {
		return User{}, err
	}
	path, err := normPath("path", in.Path)
	if err != nil {
		return User{}, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return User{}, err
	}
	var u userRecord
	err = s.update(ctx, func(t *txn) error {
		if found, err := t.get(userKey(in.Name), new(userRecord)); err != nil || found {
			if found {
				return alreadyExists(EntityUser, in.Name)
			}
			return err
		}
		id, err := s.newID(prefixUserID)
		if err != nil {
			return err
		}
		u = userRecord{Name: in.Name, Path: path, ID: id, Created: s.now(), Tags: tags}
		return t.create(userKey(in.Name), &u)
	})
	if err != nil {
		return User{}, err
	}
	return s.userView(&u), nil
}

// GetUser describes a user.
func (s *Service) GetUser(ctx context.Context, name string) (User, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	u, err := t.user(name)
	if err != nil {
		return User{}, err
	}
	return s.userView(u), nil
}

// ListUsers lists users in name order (case-insensitive).
func (s *Service) ListUsers(ctx context.Context, opt ListOptions) ([]User, string, error) {
	recs, next, err := listPage[userRecord](ctx, s.kv, prefixUser, opt, func(u *userRecord) string { return u.Path })
	out := make([]User, len(recs))
	for i := range recs {
		out[i] = s.userView(&recs[i])
	}
	return out, next, err
}

// DeleteUser deletes a user that has no access keys, login profile,
// policies or group memberships left (as AWS requires).
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	return s.update(ctx, func(t *txn) error {
		u, err := t.user(name)
		if err != nil {
			return err
		}
		switch {
		case len(u.Keys) > 0:
			return conflict("Cannot delete entity, must delete access keys first.")
		case u.Login != nil:
			return conflict("Cannot delete entity, must delete login profile first.")
		case len(u.Inline) > 0:
			return conflict("Cannot delete entity, must delete policies first.")
		case len(u.Attached) > 0:
			return conflict("Cannot delete entity, must detach all policies first.")
		case len(u.Groups) > 0:
			return conflict("Cannot delete entity, must remove users from group first.")
		}
		t.del(userKey(name))
		return nil
	})
}

// SetUserEnabled enables or disables a user. A disabled user's keys,
// sessions (including roles it assumed) and password are refused.
func (s *Service) SetUserEnabled(ctx context.Context, name string, enabled bool) error {
	return s.update(ctx, func(t *txn) error {
		u, err := t.user(name)
		if err != nil || u.Disabled == !enabled {
			return err
		}
		u.Disabled = !enabled
		return t.put(userKey(name), u)
	})
}

// UpdateUser changes a user's path ("" leaves it). Renaming (NewUserName)
// is not supported (the name is the user's key): the API answers
// NotImplemented for it.
func (s *Service) UpdateUser(ctx context.Context, name, newPath string) error {
	path := ""
	if newPath != "" {
		var err error
		if path, err = normPath("newPath", newPath); err != nil {
			return err
		}
	}
	return s.update(ctx, func(t *txn) error {
		u, err := t.user(name)
		if err != nil || path == "" || u.Path == path {
			return err
		}
		u.Path = path
		return t.put(userKey(name), u)
	})
}

func containsFold(list []string, name string) bool {
	return slices.Contains(list, strings.ToLower(name))
}

func removeFold(list []string, name string) []string {
	n := strings.ToLower(name)
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == n })
}
