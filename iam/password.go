package iam

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Login profiles: a user's console password, kept only as an argon2id
// hash in the PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash),
// so a later change of Config.Password does not invalidate stored hashes.

// LoginProfile describes a user's password (never the password itself).
type LoginProfile struct {
	UserName              string
	Created               time.Time
	PasswordResetRequired bool
}

// checkPassword applies the password policy: AWS's default (length, and
// three of: upper case, lower case, digits, symbols).
func (s *Service) checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < s.cfg.MinPasswordLength || n > maxPasswordLen || !utf8.ValidString(pw) {
		return newErr(ErrPasswordPolicyViolation, "Password should have at least %d characters and at most %d.", s.cfg.MinPasswordLength, maxPasswordLen)
	}
	var upper, lower, digit, symbol int
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsDigit(r):
			digit = 1
		case unicode.IsControl(r):
			return newErr(ErrPasswordPolicyViolation, "Password contains a control character.")
		default:
			symbol = 1
		}
	}
	if upper+lower+digit+symbol < 3 {
		return newErr(ErrPasswordPolicyViolation, "Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols.")
	}
	return nil
}

func (s *Service) hashPassword(pw string) (string, error) {
	p := s.cfg.Password
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
		return "", fmt.Errorf("iam: random: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(p.KeyLen))
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyHash checks pw against a PHC argon2id hash in constant time.
func verifyHash(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || t == 0 || p == 0 || m > 4<<20 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 1024 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CreateLoginProfile gives user a password.
func (s *Service) CreateLoginProfile(ctx context.Context, user, password string, resetRequired bool) (LoginProfile, error) {
	if err := s.checkPassword(password); err != nil {
		return LoginProfile{}, err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return LoginProfile{}, err
	}
	var out LoginProfile
	err = s.update(ctx, func(t *txn) error {
		u, err := t.user(user)
		if err != nil {
			return err
		}
		if u.Login != nil {
			return alreadyExists(EntityLoginProfile, u.Name)
		}
		u.Login = &loginProfile{Hash: hash, Created: s.now(), ResetRequired: resetRequired}
		out = LoginProfile{UserName: u.Name, Created: u.Login.Created, PasswordResetRequired: resetRequired}
		return t.put(userKey(user), u)
	})
	return out, err
}

// UpdateLoginProfile changes the password ("" keeps it) and the reset flag
// (nil keeps it).
func (s *Service) UpdateLoginProfile(ctx context.Context, user, password string, resetRequired *bool) error {
	var hash string
	if password != "" {
		if err := s.checkPassword(password); err != nil {
			return err
		}
		var err error
		if hash, err = s.hashPassword(password); err != nil {
			return err
		}
	}
	return s.update(ctx, func(t *txn) error {
		u, err := t.user(user)
		if err != nil {
			return err
		}
		if u.Login == nil {
			return noSuch(EntityLoginProfile, u.Name)
		}
		lp := *u.Login
		if hash != "" {
			lp.Hash = hash
		}
		if resetRequired != nil {
			lp.ResetRequired = *resetRequired
		}
		u.Login = &lp
		return t.put(userKey(user), u)
	})
}

// GetLoginProfile describes a user's password.
func (s *Service) GetLoginProfile(ctx context.Context, user string) (LoginProfile, error) {
	t := &txn{ctx: ctx, kv: s.kv, seen: map[string]uint64{}}
	u, err := t.user(user)
	if err != nil {
		return LoginProfile{}, err
	}
	if u.Login == nil {
		return LoginProfile{}, noSuch(EntityLoginProfile, u.Name)
	}
	return LoginProfile{UserName: u.Name, Created: u.Login.Created, PasswordResetRequired: u.Login.ResetRequired}, nil
}

// DeleteLoginProfile removes a user's password.
func (s *Service) DeleteLoginProfile(ctx context.Context, user string) error {
	return s.update(ctx, func(t *txn) error {
		u, err := t.user(user)
		if err != nil {
			return err
		}
		if u.Login == nil {
			return noSuch(EntityLoginProfile, u.Name)
		}
		u.Login = nil
		return t.put(userKey(user), u)
	})
}

// VerifyPassword checks a login. Every failure (unknown or disabled user,
// no password, wrong password) is ErrLoginFailed and costs one hash, so
// neither answer nor timing tells which user names exist.
func (s *Service) VerifyPassword(ctx context.Context, user, password string) (User, LoginProfile, error) {
	fail := newErr(ErrLoginFailed, "Your authentication information is incorrect. Please try again.")
	var u userRecord
	found := false
	if checkName("userName", user, 1, maxGroupNameLen) == nil {
		var err error
		if found, err = read(ctx, s.stale, userKey(user), &u); err != nil {
			return User{}, LoginProfile{}, err
		}
	}
	if !found || u.Login == nil {
		_, _ = s.hashPassword(password) // same cost as a real check
		return User{}, LoginProfile{}, fail
	}
	if !verifyHash(u.Login.Hash, password) || u.Disabled {
		return User{}, LoginProfile{}, fail
	}
	return s.userView(&u), LoginProfile{UserName: u.Name, Created: u.Login.Created, PasswordResetRequired: u.Login.ResetRequired}, nil
}
