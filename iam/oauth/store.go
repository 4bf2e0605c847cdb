package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/ory/fosite"
)

// store is fosite's storage over meta.KV: clients, authorization codes,
// PKCE and OpenID Connect requests, access and refresh tokens and their
// grant families, all replicated, so any node serves any step of a flow.
// Reads that decide a one-time use (a code, a refresh token) are
// leader-confirmed and the use is a compare-and-swap on the record's
// revision, so two nodes can never both redeem the same code or rotate the
// same refresh token.
type store struct {
	kv    meta.KV // leader-confirmed reads and writes
	stale meta.KV // local reads (revocation checks on the STS path)
	now   func() time.Time
	// idLifespan keeps a family at least as long as the ID tokens naming it.
	idLifespan time.Duration
}

// requestRecord is a fosite.Requester at rest. The client is stored by id
// and looked up again, so a removed client's codes and tokens stop working.
type requestRecord struct {
	ID                string     `json:"id"`
	RequestedAt       time.Time  `json:"requested_at"`
	ClientID          string     `json:"client_id"`
	RequestedScope    []string   `json:"scope,omitempty"`
	GrantedScope      []string   `json:"granted_scope,omitempty"`
	RequestedAudience []string   `json:"audience,omitempty"`
	GrantedAudience   []string   `json:"granted_audience,omitempty"`
	Form              url.Values `json:"form,omitempty"`
	Session           *Session   `json:"session"`
}

// codeRecord is an authorization code: usable once.
type codeRecord struct {
	Request requestRecord `json:"request"`
	Used    bool          `json:"used,omitempty"`
	Expires time.Time     `json:"expires"`
}

// tokenRecord is an access or refresh token.
type tokenRecord struct {
	Request requestRecord `json:"request"`
	// Inactive: a refresh token that was rotated (its reuse revokes the
	// family) or revoked.
	Inactive bool      `json:"inactive,omitempty"`
	Expires  time.Time `json:"expires"`
}

// familyRecord is one grant: every access and refresh token descending
// from one authorization shares its request id. Revoked kills them all,
// and the ID tokens naming it (claim sid).
type familyRecord struct {
	Revoked bool      `json:"revoked,omitempty"`
	Access  []string  `json:"access,omitempty"`  // keys of its live access tokens
	Refresh []string  `json:"refresh,omitempty"` // keys of its refresh tokens
	Expires time.Time `json:"expires"`
}

func (s *store) toRecord(r fosite.Requester) (requestRecord, error) {
	sess, ok := r.GetSession().(*Session)
	if !ok && r.GetSession() != nil {
		return requestRecord{}, fmt.Errorf("oauth: unexpected session type %T", r.GetSession())
	}
	return requestRecord{ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: r.GetClient().GetID(),
		RequestedScope: r.GetRequestedScopes(), GrantedScope: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(),
		Form: r.GetRequestForm(), Session: sess}, nil
}

// toRequest rebuilds a request.
func (s *store) toRequest(ctx context.Context, rec requestRecord, _ fosite.Session) (*fosite.Request, error) {
	c, err := s.GetClient(ctx, rec.ClientID)
	if err != nil {
		return nil, err
	}
	// The stored session is returned in the request, never copied into
	// the caller's: fosite adopts it (SetSession) where it needs it, and
	// the PKCE and OpenID Connect lookups must not overwrite a session the
	// token flow has already filled.
	sess := rec.Session
	if sess == nil {
		sess = NewSession()
	}
	return &fosite.Request{ID: rec.ID, RequestedAt: rec.RequestedAt, Client: c,
		RequestedScope: slices.Clone(rec.RequestedScope), GrantedScope: slices.Clone(rec.GrantedScope),
		RequestedAudience: slices.Clone(rec.RequestedAudience), GrantedAudience: slices.Clone(rec.GrantedAudience),
		Form: rec.Form, Session: sess}, nil
}

// get decodes key from kv; false when absent.
func get(ctx context.Context, kv meta.KV, key string, v any) (uint64, bool, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, meta.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("oauth: read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return 0, false, fmt.Errorf("oauth: corrupt record %s: %w", key, err)
	}
	return e.Revision, true, nil
}

func put(key string, v any) (meta.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return meta.Op{}, err
	}
	return meta.Put(key, b), nil
}

// write commits ops if every compared key is still at its revision
// (0: absent). A failed compare is fosite.ErrSerializationFailure.
func (s *store) write(ctx context.Context, compares []meta.Compare, ops ...meta.Op) error {
	_, err := s.kv.Txn(ctx, meta.Txn{Compares: compares, Ops: ops})
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		return fmt.Errorf("%w: %v", fosite.ErrSerializationFailure, err)
	}
	if err != nil {
		return fmt.Errorf("oauth: commit: %w", err)
	}
	return nil
}

func (s *store) createRequest(ctx context.Context, key string, r fosite.Requester) error {
	rec, err := s.toRecord(r)
	if err != nil {
		return err
	}
	op, err := put(key, rec)
	if err != nil {
		return err
	}
	return s.write(ctx, []meta.Compare{{Key: key}}, op)
}

func (s *store) getRequest(ctx context.Context, key string, into fosite.Session) (fosite.Requester, error) {
	var rec requestRecord
	_, found, err := get(ctx, s.kv, key, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fosite.ErrNotFound
	}
	return s.toRequest(ctx, rec, into)
}

func (s *store) delete(ctx context.Context, key string) error {
	return s.write(ctx, nil, meta.Delete(key))
}

// expiry is when a request's token of type t expires (the session's
// expiry, else fallback from now).
func (s *store) expiry(r fosite.Requester, t fosite.TokenType, fallback time.Duration) time.Time {
	if sess := r.GetSession(); sess != nil {
		if e := sess.GetExpiresAt(t); !e.IsZero() {
			return e
		}
	}
	return s.now().Add(fallback)
}

// Authorization codes.

func (s *store) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	rec, err := s.toRecord(r)
	if err != nil {
		return err
	}
	key := prefixCode + hashed(code)
	op, err := put(key, codeRecord{Request: rec, Expires: s.expiry(r, fosite.AuthorizeCode, 10*time.Minute)})
	if err != nil {
		return err
	}
	return s.write(ctx, []meta.Compare{{Key: key}}, op)
}

func (s *store) GetAuthorizeCodeSession(ctx context.Context, code string, into fosite.Session) (fosite.Requester, error) {
	var rec codeRecord
	_, found, err := get(ctx, s.kv, prefixCode+hashed(code), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fosite.ErrNotFound
	}
	req, err := s.toRequest(ctx, rec.Request, into)
	if err != nil {
		return nil, err
	}
	if rec.Used {
		// fosite revokes the tokens issued for a replayed code.
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession marks the code used: a compare-and-swap
// on the revision read, so of two concurrent redemptions one fails.
func (s *store) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	key := prefixCode + hashed(code)
	var rec codeRecord
	rev, found, err := get(ctx, s.kv, key, &rec)
	if err != nil {
		return err
	}
	if !found || rec.Used {
		return fosite.ErrInvalidatedAuthorizeCode
	}
	rec.Used = true
	op, err := put(key, rec)
	if err != nil {
		return err
	}
	return s.write(ctx, []meta.Compare{{Key: key, Revision: rev}}, op)
}

// PKCE and OpenID Connect requests of a code.

func (s *store) CreatePKCERequestSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.createRequest(ctx, prefixPKCE+hashed(sig), r)
}

func (s *store) GetPKCERequestSession(ctx context.Context, sig string, into fosite.Session) (fosite.Requester, error) {
	return s.getRequest(ctx, prefixPKCE+hashed(sig), into)
}

func (s *store) DeletePKCERequestSession(ctx context.Context, sig string) error {
	return s.delete(ctx, prefixPKCE+hashed(sig))
}

func (s *store) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.createRequest(ctx, prefixOIDC+hashed(code), r)
}

func (s *store) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	var into fosite.Session
	if r != nil {
		into = r.GetSession()
	}
	return s.getRequest(ctx, prefixOIDC+hashed(code), into)
}

func (s *store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.delete(ctx, prefixOIDC+hashed(code))
}

// Access and refresh tokens, each filed in its family.

func (s *store) CreateAccessTokenSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.createToken(ctx, prefixAccess+hashed(sig), r, fosite.AccessToken, time.Hour)
}

func (s *store) CreateRefreshTokenSession(ctx context.Context, sig, _ string, r fosite.Requester) error {
	return s.createToken(ctx, prefixRefresh+hashed(sig), r, fosite.RefreshToken, 30*24*time.Hour)
}

// createToken stores a token and adds it to its family, in one
// transaction; a revoked family gets no new tokens.
func (s *store) createToken(ctx context.Context, key string, r fosite.Requester, t fosite.TokenType, fallback time.Duration) error {
	rec, err := s.toRecord(r)
	if err != nil {
		return err
	}
	tr := tokenRecord{Request: rec, Expires: s.expiry(r, t, fallback)}
	return s.updateFamily(ctx, r.GetID(), func(f *familyRecord) ([]meta.Op, error) {
		if f.Revoked {
			return nil, fosite.ErrInactiveToken
		}
		if t == fosite.AccessToken {
			f.Access = append(f.Access, key)
		} else {
			f.Refresh = append(f.Refresh, key)
		}
		for _, exp := range []time.Time{tr.Expires, s.now().Add(s.idLifespan)} {
			if exp.After(f.Expires) {
				f.Expires = exp
			}
		}
		op, err := put(key, tr)
		return []meta.Op{op}, err
	}, meta.Compare{Key: key})
}

// updateFamily runs fn on the family record of id (created if absent) and
// commits its ops with the family, retrying on a concurrent change.
func (s *store) updateFamily(ctx context.Context, id string, fn func(f *familyRecord) ([]meta.Op, error), extra ...meta.Compare) error {
	key := familyKey(id)
	for attempt := 0; attempt < 8; attempt++ {
		var f familyRecord
		rev, _, err := get(ctx, s.kv, key, &f)
		if err != nil {
			return err
		}
		ops, err := fn(&f)
		if err != nil {
			return err
		}
		fop, err := put(key, f)
		if err != nil {
			return err
		}
		_, err = s.kv.Txn(ctx, meta.Txn{Compares: append([]meta.Compare{{Key: key, Revision: rev}}, extra...), Ops: append(ops, fop)})
		var cf *meta.CompareFailedError
		switch {
		case errors.As(err, &cf) && cf.Key == key:
			continue // the family changed meanwhile: again
		case errors.As(err, &cf):
			return fmt.Errorf("%w: %v", fosite.ErrSerializationFailure, err)
		case err != nil:
			return fmt.Errorf("oauth: commit: %w", err)
		}
		return nil
	}
	return fosite.ErrSerializationFailure
}

func (s *store) getToken(ctx context.Context, kv meta.KV, key string, into fosite.Session) (fosite.Requester, *tokenRecord, error) {
	var tr tokenRecord
	_, found, err := get(ctx, kv, key, &tr)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, fosite.ErrNotFound
	}
	req, err := s.toRequest(ctx, tr.Request, into)
	if err != nil {
		return nil, nil, err
	}
	return req, &tr, nil
}

func (s *store) GetAccessTokenSession(ctx context.Context, sig string, into fosite.Session) (fosite.Requester, error) {
	req, _, err := s.getToken(ctx, s.kv, prefixAccess+hashed(sig), into)
	return req, err
}

func (s *store) DeleteAccessTokenSession(ctx context.Context, sig string) error {
	return s.delete(ctx, prefixAccess+hashed(sig))
}

func (s *store) GetRefreshTokenSession(ctx context.Context, sig string, into fosite.Session) (fosite.Requester, error) {
	req, tr, err := s.getToken(ctx, s.kv, prefixRefresh+hashed(sig), into)
	if err != nil {
		return nil, err
	}
	if tr.Inactive {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

func (s *store) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	return s.delete(ctx, prefixRefresh+hashed(sig))
}

// RotateRefreshToken retires the refresh token being used and the
// family's access tokens. Marking the old token inactive compares its
// revision, so of two concurrent uses one wins; the loser sees an inactive
// token — reuse — and the whole family is revoked.
func (s *store) RotateRefreshToken(ctx context.Context, requestID, sig string) error {
	key := prefixRefresh + hashed(sig)
	var tr tokenRecord
	rev, found, err := get(ctx, s.kv, key, &tr)
	if err != nil {
		return err
	}
	if !found {
		return fosite.ErrNotFound
	}
	if tr.Inactive {
		if err := s.revokeFamily(ctx, requestID); err != nil {
			return err
		}
		return fosite.ErrInactiveToken
	}
	tr.Inactive = true
	op, err := put(key, tr)
	if err != nil {
		return err
	}
	err = s.updateFamily(ctx, requestID, func(f *familyRecord) ([]meta.Op, error) {
		ops := []meta.Op{op}
		for _, k := range f.Access {
			ops = append(ops, meta.Delete(k))
		}
		f.Access = nil
		return ops, nil
	}, meta.Compare{Key: key, Revision: rev})
	if errors.Is(err, fosite.ErrSerializationFailure) {
		// Someone else rotated it first: a reuse.
		if rerr := s.revokeFamily(ctx, requestID); rerr != nil {
			return rerr
		}
		return fosite.ErrInactiveToken
	}
	return err
}

// RevokeRefreshToken revokes the whole family (RFC 7009: and the access
// tokens of the same grant).
func (s *store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.revokeFamily(ctx, requestID)
}

// RevokeAccessToken deletes the family's access tokens.
func (s *store) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.updateFamily(ctx, requestID, func(f *familyRecord) ([]meta.Op, error) {
		var ops []meta.Op
		for _, k := range f.Access {
			ops = append(ops, meta.Delete(k))
		}
		f.Access = nil
		return ops, nil
	})
}

func (s *store) revokeFamily(ctx context.Context, requestID string) error {
	return s.updateFamily(ctx, requestID, func(f *familyRecord) ([]meta.Op, error) {
		var ops []meta.Op
		for _, k := range f.Access {
			ops = append(ops, meta.Delete(k))
		}
		for _, k := range f.Refresh {
			ops = append(ops, meta.Delete(k))
		}
		f.Revoked, f.Access, f.Refresh = true, nil, nil
		return ops, nil
	})
}

// familyLive reports whether a grant is still in force (local read).
func (s *store) familyLive(ctx context.Context, id string) (bool, error) {
	var f familyRecord
	_, found, err := get(ctx, s.stale, familyKey(id), &f)
	if err != nil {
		return false, err
	}
	return found && !f.Revoked, nil
}

// accessLive reports whether a JWT access token (by signature) is still
// stored, i.e. neither revoked nor rotated away (local read).
func (s *store) accessLive(ctx context.Context, sig string) (bool, error) {
	_, found, err := get(ctx, s.stale, prefixAccess+hashed(sig), &tokenRecord{})
	return found, err
}

// Client assertions (private_key_jwt) are not offered; these satisfy
// fosite.ClientManager.

func (s *store) ClientAssertionJWTValid(context.Context, string) error { return fosite.ErrJTIKnown }

func (s *store) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return errors.New("oauth: client assertions are not supported")
}
