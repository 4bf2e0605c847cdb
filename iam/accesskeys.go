package iam

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// KeyStatus is an access key's status.
type KeyStatus string

// Key statuses.
const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// AccessKey is a new access key: the only time its secret is returned.
// String and GoString hide the secret.
type AccessKey struct {
	UserName        string
	AccessKeyID     string
	SecretAccessKey string
	Status          KeyStatus
	Created         time.Time
}

func (k AccessKey) String() string {
	return fmt.Sprintf("AccessKey{UserName: %s, AccessKeyID: %s, Status: %s}", k.UserName, k.AccessKeyID, k.Status)
}

// GoString hides the secret from %#v.
func (k AccessKey) GoString() string { return k.String() }

// AccessKeyMetadata describes an access key without its secret.
type AccessKeyMetadata struct {
	UserName    string
	AccessKeyID string
	Status      KeyStatus
	Created     time.Time
}

// CreateAccessKey makes a new active key for user (at most 2 per user).
// The secret is sealed before it is stored.
func (s *Service) CreateAccessKey(ctx context.Context, user string) (AccessKey, error) {
	var out AccessKey
	err := s.update(ctx, func(t *txn) error {
		u, err := t.user(user)
		if err != nil {
			return err
		}
		if len(u.Keys) >= maxAccessKeys {
			return quota("AccessKeysPerUser", maxAccessKeys)
		}
		id, err := s.newID(prefixAccessKey)
		if err != nil {
			return err
		}
		secret, err := s.newSecret()
		if err != nil {
			return err
		}
		sealed, err := s.sealer.Seal(ctx, secretPurpose(id), []byte(secret))
		if err != nil {
			return fmt.Errorf("iam: seal secret: %w", err)
		}
		now := s.now()
		u.Keys = append(u.Keys, id)
		rec := accessKeyRecord{ID: id, User: strings.ToLower(user), UserID: u.ID, Status: KeyActive, Created: now, Secret: sealed}
		if err := t.create(accessKeyKey(id), &rec); err != nil {
			return err
		}
		out = AccessKey{UserName: u.Name, AccessKeyID: id, SecretAccessKey: secret, Status: KeyActive, Created: now}
		return t.put(userKey(user), u)
	})
	if err != nil {
		return AccessKey{}, err
	}
	return out, nil
}

// userKeyRecord reads user's key id, which must belong to user.
func (t *txn) userKeyRecord(user, id string) (*userRecord, *accessKeyRecord, error) {
	u, err := t.user(user)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(u.Keys, id) {
		return nil, nil, noSuch(EntityAccessKey, printable(id))
	}
	k := new(accessKeyRecord)
	found, err := t.get(accessKeyKey(id), k)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, fmt.Errorf("iam: user %s lists access key %s, which does not exist", user, id)
	}
	return u, k, nil
}

// ListAccessKeys lists a user's keys.
func (s *Service) ListAccessKeys(ctx context.Context, user string) ([]AccessKeyMetadata, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	u, err := t.user(user)
	if err != nil {
		return nil, err
	}
	out := make([]AccessKeyMetadata, 0, len(u.Keys))
	for _, id := range u.Keys {
		var k accessKeyRecord
		if found, err := t.get(accessKeyKey(id), &k); err != nil || !found {
			if err == nil {
				err = fmt.Errorf("iam: user %s lists access key %s, which does not exist", u.Name, id)
			}
			return nil, err
		}
		out = append(out, AccessKeyMetadata{UserName: u.Name, AccessKeyID: id, Status: k.Status, Created: k.Created})
	}
	return out, nil
}

// UpdateAccessKey activates or deactivates a key.
func (s *Service) UpdateAccessKey(ctx context.Context, user, id string, status KeyStatus) error {
	if status != KeyActive && status != KeyInactive {
		return constraint(string(status), "status", "Member must satisfy enum value set: [Active, Inactive]")
	}
	return s.update(ctx, func(t *txn) error {
		_, k, err := t.userKeyRecord(user, id)
		if err != nil || k.Status == status {
			return err
		}
		k.Status = status
		return t.put(accessKeyKey(id), k)
	})
}

// DeleteAccessKey deletes a key; it is refused from then on.
func (s *Service) DeleteAccessKey(ctx context.Context, user, id string) error {
	return s.update(ctx, func(t *txn) error {
		u, _, err := t.userKeyRecord(user, id)
		if err != nil {
			return err
		}
		u.Keys = slices.DeleteFunc(u.Keys, func(k string) bool { return k == id })
		t.del(accessKeyKey(id))
		t.del(lastUsedKey(id))
		return t.put(userKey(user), u)
	})
}
