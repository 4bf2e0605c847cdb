package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite/token/jwt"
)

// Signing keys: ES256 (P-256) key pairs kept in the KV under keyKeys, the
// private part sealed by the KMS (iam.Sealer, purpose
// "iam/oauth/key/<kid>"). The first key signs; Rotate puts a new one first
// and keeps the old ones in the JWKS until every token they signed has
// expired (the longest token lifetime after their retirement), then drops
// them. Every node reads the ring from its local replica, by revision, so a
// rotation counts on a node as soon as its replica applied it.

// keyAlg is the one signing algorithm of the built-in issuer.
const keyAlg = jose.ES256

type signingKey struct {
	ID      string    `json:"kid"`
	Alg     string    `json:"alg"`
	Created time.Time `json:"created"`
	// Retired is when the key stopped signing (zero: it signs).
	Retired time.Time `json:"retired,omitempty"`
	Private []byte    `json:"private"` // sealed PKCS#8
	Public  []byte    `json:"public"`  // PKIX
}

type keyRingRecord struct {
	Keys []signingKey `json:"keys"` // the signing key first
}

// KeyInfo describes a signing key (never its private part).
type KeyInfo struct {
	ID      string    `json:"kid"`
	Alg     string    `json:"alg"`
	Created time.Time `json:"created"`
	Retired time.Time `json:"retired,omitzero"`
	Signing bool      `json:"signing"`
}

// loadedKey is a key ready to use.
type loadedKey struct {
	info signingKey
	priv *ecdsa.PrivateKey // nil for keys that no longer sign
	pub  *ecdsa.PublicKey
}

// keyRing is the node's view of the signing keys.
type keyRing struct {
	kv, stale meta.KV
	sealer    iam.Sealer
	now       func() time.Time
	retain    time.Duration // how long a retired key stays published

	mu   sync.Mutex
	rev  uint64
	keys []loadedKey
}

var errNoKey = errors.New("oauth: no signing key")

// ensure creates the first key if there is none (concurrent first starts
// agree on one: the creation compares the record's absence).
func (k *keyRing) ensure(ctx context.Context) error {
	if _, err := k.kv.Get(ctx, keyKeys); err == nil {
		return nil
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	err := k.rotate(ctx, 0)
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		return nil
	}
	return err
}

// Rotate makes a new signing key and retires the current one.
func (k *keyRing) Rotate(ctx context.Context) (KeyInfo, error) {
	for attempt := 0; attempt < 8; attempt++ {
		e, err := k.kv.Get(ctx, keyKeys)
		if err != nil {
			return KeyInfo{}, err
		}
		err = k.rotate(ctx, e.Revision)
		var cf *meta.CompareFailedError
		if errors.As(err, &cf) {
			continue
		}
		if err != nil {
			return KeyInfo{}, err
		}
		keys, err := k.load(ctx, k.kv)
		if err != nil {
			return KeyInfo{}, err
		}
		return keys[0].view(), nil
	}
	return KeyInfo{}, errors.New("oauth: key rotation kept conflicting; try again")
}

// rotate writes a ring with a new first key over the ring at rev (0: none).
func (k *keyRing) rotate(ctx context.Context, rev uint64) error {
	var ring keyRingRecord
	if rev != 0 {
		e, err := k.kv.Get(ctx, keyKeys)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(e.Value, &ring); err != nil {
			return fmt.Errorf("oauth: corrupt key ring: %w", err)
		}
		rev = e.Revision
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pub)
	now := k.now().UTC()
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	sealed, err := k.sealer.Seal(ctx, sealPurpose("key/"+kid), der)
	clear(der)
	if err != nil {
		return fmt.Errorf("oauth: seal signing key: %w", err)
	}
	kept := []signingKey{{ID: kid, Alg: string(keyAlg), Created: now, Private: sealed, Public: pub}}
	for _, old := range ring.Keys {
		if old.Retired.IsZero() {
			old.Retired = now
		}
		if now.Sub(old.Retired) < k.retain {
			kept = append(kept, old)
		}
	}
	b, err := json.Marshal(keyRingRecord{Keys: kept})
	if err != nil {
		return err
	}
	_, err = k.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: keyKeys, Revision: rev}}, Ops: []meta.Op{meta.Put(keyKeys, b)}})
	return err
}

// load returns the keys, reusing the parsed ones while the record's
// revision is unchanged.
func (k *keyRing) load(ctx context.Context, kv meta.KV) ([]loadedKey, error) {
	e, err := kv.Get(ctx, keyKeys)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	if e.Revision == k.rev && k.keys != nil {
		keys := k.keys
		k.mu.Unlock()
		return keys, nil
	}
	k.mu.Unlock()
	var ring keyRingRecord
	if err := json.Unmarshal(e.Value, &ring); err != nil {
		return nil, fmt.Errorf("oauth: corrupt key ring: %w", err)
	}
	keys := make([]loadedKey, 0, len(ring.Keys))
	for i, sk := range ring.Keys {
		pub, err := x509.ParsePKIXPublicKey(sk.Public)
		if err != nil {
			return nil, fmt.Errorf("oauth: key %s: %w", sk.ID, err)
		}
		lk := loadedKey{info: sk, pub: pub.(*ecdsa.PublicKey)}
		if i == 0 {
			der, err := k.sealer.Open(ctx, sealPurpose("key/"+sk.ID), sk.Private)
			if err != nil {
				return nil, fmt.Errorf("oauth: open signing key %s: %w", sk.ID, err)
			}
			p, err := x509.ParsePKCS8PrivateKey(der)
			clear(der)
			if err != nil {
				return nil, fmt.Errorf("oauth: key %s: %w", sk.ID, err)
			}
			lk.priv = p.(*ecdsa.PrivateKey)
		}
		keys = append(keys, lk)
	}
	if len(keys) == 0 {
		return nil, errNoKey
	}
	k.mu.Lock()
	if e.Revision > k.rev {
		k.rev, k.keys = e.Revision, keys
	}
	k.mu.Unlock()
	return keys, nil
}

func (l loadedKey) view() KeyInfo {
	return KeyInfo{ID: l.info.ID, Alg: l.info.Alg, Created: l.info.Created, Retired: l.info.Retired, Signing: l.info.Retired.IsZero()}
}

// List describes the keys in the JWKS.
func (k *keyRing) List(ctx context.Context) ([]KeyInfo, error) {
	keys, err := k.load(ctx, k.kv)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, len(keys))
	for i, l := range keys {
		out[i] = l.view()
	}
	return out, nil
}

// jwks is the published key set: the signing key and the retired keys
// whose tokens may still be valid.
func (k *keyRing) jwks(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, err := k.load(ctx, k.stale)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	var set jose.JSONWebKeySet
	now := k.now()
	for _, l := range keys {
		if !l.info.Retired.IsZero() && now.Sub(l.info.Retired) >= k.retain {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: l.pub, KeyID: l.info.ID, Algorithm: l.info.Alg, Use: "sig"})
	}
	return set, nil
}

// publicKey finds a published key by kid (nil if unknown or withdrawn).
func (k *keyRing) publicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	set, err := k.jwks(ctx)
	if err != nil {
		return nil, err
	}
	for _, key := range set.Key(kid) {
		if p, ok := key.Key.(*ecdsa.PublicKey); ok {
			return p, nil
		}
	}
	return nil, nil
}

// signer is fosite's jwt.Signer over the key ring: it signs ID tokens and
// JWT access tokens with the current key (kid in the header) and verifies
// with any published one, ES256 only.
type signer struct{ ring *keyRing }

var _ jwt.Signer = signer{}

func (s signer) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	keys, err := s.ring.load(ctx, s.ring.stale)
	if err != nil {
		return "", "", err
	}
	key := keys[0]
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.info.ID)
	if header != nil {
		for name, v := range header.ToMap() {
			if name != "alg" && name != "kid" && name != "typ" {
				opts = opts.WithHeader(jose.HeaderKey(name), v)
			}
		}
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: keyAlg, Key: key.priv}, opts)
	if err != nil {
		return "", "", err
	}
	payload, err := json.Marshal(map[string]any(claims))
	if err != nil {
		return "", "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", "", err
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", "", err
	}
	return token, token[strings.LastIndexByte(token, '.')+1:], nil
}

func (s signer) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	return jwt.ParseWithClaims(token, jwt.MapClaims{}, func(t *jwt.Token) (any, error) {
		if alg, _ := t.Header["alg"].(string); alg != string(keyAlg) {
			return nil, fmt.Errorf("oauth: signing algorithm %q is not accepted", alg)
		}
		kid, _ := t.Header["kid"].(string)
		p, err := s.ring.publicKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, fmt.Errorf("oauth: unknown signing key %q", kid)
		}
		return p, nil
	})
}

func (s signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

func (s signer) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("oauth: a JWT has three parts")
	}
	return parts[2], nil
}

func (s signer) Hash(_ context.Context, in []byte) ([]byte, error) {
	h := sha256.Sum256(in)
	return h[:], nil
}

func (s signer) GetSigningMethodLength(context.Context) int { return sha256.Size }
