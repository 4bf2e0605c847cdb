package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	jose "github.com/go-jose/go-jose/v4"
)

// External issuers: OpenID Connect providers an admin registers (issuer
// URL, accepted audiences, and optionally which roles their tokens may
// assume, by claim). STS accepts their tokens for AssumeRoleWithWebIdentity
// as AWS does for an IAM OIDC identity provider: the token must be signed
// by a key of the issuer's JWKS (fetched from its discovery document and
// cached; a kid not in the cache refetches, at most every JWKSMinRefresh),
// name a registered audience, be unexpired, and the role's trust policy
// must name the issuer as Federated principal. Issuer URLs are https; http
// is accepted only on a loopback address (a provider on the same machine,
// e.g. in tests), never across a network.

// RoleMapping restricts which role an issuer's tokens may assume: RoleARN
// when the token's Claim has Value (a string claim equal to it, or a list
// claim containing it); an empty Claim matches every token.
type RoleMapping struct {
	Claim   string `json:"claim,omitempty"`
	Value   string `json:"value,omitempty"`
	RoleARN string `json:"role_arn"`
}

type issuerRecord struct {
	ID        string        `json:"id"`
	URL       string        `json:"url"`
	JWKSURI   string        `json:"jwks_uri"`
	Audiences []string      `json:"audiences"`
	Roles     []RoleMapping `json:"roles,omitempty"`
	Created   time.Time     `json:"created"`
}

// Issuer describes a registered external issuer.
type Issuer struct {
	URL       string        `json:"url"`
	JWKSURI   string        `json:"jwks_uri"`
	Audiences []string      `json:"audiences"`
	Roles     []RoleMapping `json:"roles,omitempty"`
	Created   time.Time     `json:"created"`
}

// AddIssuerInput registers an external issuer.
type AddIssuerInput struct {
	URL       string
	Audiences []string
	Roles     []RoleMapping
}

func (r issuerRecord) view() Issuer {
	return Issuer{URL: r.URL, JWKSURI: r.JWKSURI, Audiences: slices.Clone(r.Audiences), Roles: slices.Clone(r.Roles), Created: r.Created}
}

// checkIssuerURL admits https URLs, and http only on a loopback address.
func checkIssuerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, invalidf("issuer %q must be an absolute URL without query, fragment or user info", raw)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return u, nil
		}
	}
	return nil, invalidf("issuer %q must use https (http only on a loopback address)", raw)
}

// AddIssuer registers an external issuer after reading its discovery
// document (whose issuer must be the URL given) and JWKS.
func (p *Provider) AddIssuer(ctx context.Context, in AddIssuerInput) (Issuer, error) {
	u, err := checkIssuerURL(in.URL)
	if err != nil {
		return Issuer{}, err
	}
	if strings.TrimSuffix(in.URL, "/") == p.cfg.Issuer {
		return Issuer{}, invalidf("%s is this server's own issuer", in.URL)
	}
	if len(in.Audiences) == 0 {
		return Issuer{}, invalidf("an issuer needs at least one --audience (the client id its tokens are issued to)")
	}
	for _, m := range in.Roles {
		if !strings.HasPrefix(m.RoleARN, "arn:aws:iam::") || !strings.Contains(m.RoleARN, ":role/") {
			return Issuer{}, invalidf("%q is not a role ARN", m.RoleARN)
		}
		if (m.Claim == "") != (m.Value == "") {
			return Issuer{}, invalidf("a claim mapping needs both a claim and a value")
		}
	}
	doc, err := p.jwks.discover(ctx, u.String())
	if err != nil {
		return Issuer{}, invalidf("reading the discovery document of %s: %v", in.URL, err)
	}
	if doc.Issuer != in.URL {
		return Issuer{}, invalidf("the discovery document of %s names the issuer %q", in.URL, doc.Issuer)
	}
	if _, err := checkFetchURL(doc.JWKSURI, u); err != nil {
		return Issuer{}, invalidf("the jwks_uri of %s: %v", in.URL, err)
	}
	if _, err := p.jwks.fetch(ctx, doc.JWKSURI); err != nil {
		return Issuer{}, invalidf("reading the JWKS of %s: %v", in.URL, err)
	}
	rec := issuerRecord{ID: hashed(in.URL)[:32], URL: in.URL, JWKSURI: doc.JWKSURI, Audiences: slices.Clone(in.Audiences),
		Roles: slices.Clone(in.Roles), Created: p.cfg.Now().UTC()}
	op, err := put(issuerKey(rec.ID), rec)
	if err != nil {
		return Issuer{}, err
	}
	_, err = p.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: issuerKey(rec.ID)}}, Ops: []meta.Op{op}})
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		return Issuer{}, fmt.Errorf("%w: %s", ErrIssuerExists, in.URL)
	}
	if err != nil {
		return Issuer{}, err
	}
	return rec.view(), nil
}

// ListIssuers lists the registered external issuers.
func (p *Provider) ListIssuers(ctx context.Context) ([]Issuer, error) {
	es, err := p.kv.List(ctx, prefixIssuer, prefixIssuer, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Issuer, 0, len(es))
	for _, e := range es {
		var r issuerRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("oauth: corrupt issuer %s: %w", e.Key, err)
		}
		out = append(out, r.view())
	}
	slices.SortFunc(out, func(a, b Issuer) int { return strings.Compare(a.URL, b.URL) })
	return out, nil
}

// RemoveIssuer unregisters an issuer: its tokens are refused from then on.
func (p *Provider) RemoveIssuer(ctx context.Context, rawURL string) error {
	key := issuerKey(hashed(rawURL)[:32])
	e, err := p.kv.Get(ctx, key)
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoSuchIssuer, rawURL)
	}
	if err != nil {
		return err
	}
	_, err = p.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: key, Revision: e.Revision}}, Ops: []meta.Op{meta.Delete(key)}})
	return err
}

// issuer finds the registration of an issuer URL (local read).
func (p *Provider) issuer(ctx context.Context, iss string) (*issuerRecord, error) {
	var r issuerRecord
	_, found, err := get(ctx, p.stale, issuerKey(hashed(iss)[:32]), &r)
	if err != nil || !found || r.URL != iss {
		return nil, err
	}
	return &r, nil
}

// checkFetchURL admits a JWKS URL: https, or http on a loopback address
// when the issuer itself is one.
func checkFetchURL(raw string, issuer *url.URL) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.Scheme == "https" {
		return u, nil
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme == "http" && issuer.Scheme == "http" && ip != nil && ip.IsLoopback() {
		return u, nil
	}
	return nil, fmt.Errorf("%q must use https", raw)
}

// jwksCache holds the external issuers' key sets on this node.
type jwksCache struct {
	cfg Config
	mu  sync.Mutex
	m   map[string]*jwksEntry // by JWKS URL
}

type jwksEntry struct {
	set         jose.JSONWebKeySet
	fetched     time.Time
	lastAttempt time.Time
}

func newJWKSCache(cfg Config) *jwksCache { return &jwksCache{cfg: cfg, m: map[string]*jwksEntry{}} }

type discoveryDoc struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// maxFetch bounds a fetched document.
const maxFetch = 1 << 20

func (c *jwksCache) get(ctx context.Context, rawURL string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch+1))
	if err != nil {
		return err
	}
	if len(b) > maxFetch {
		return fmt.Errorf("GET %s: document too large", rawURL)
	}
	return json.Unmarshal(b, v)
}

func (c *jwksCache) discover(ctx context.Context, issuer string) (discoveryDoc, error) {
	var d discoveryDoc
	err := c.get(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &d)
	return d, err
}

func (c *jwksCache) fetch(ctx context.Context, jwksURL string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := c.get(ctx, jwksURL, &set); err != nil {
		return set, err
	}
	now := c.cfg.Now()
	c.mu.Lock()
	c.m[jwksURL] = &jwksEntry{set: set, fetched: now, lastAttempt: now}
	c.mu.Unlock()
	return set, nil
}

// key returns the issuer's key kid: from the cache while it is fresh and
// knows the kid, else refetched (a kid miss refetches at most every
// JWKSMinRefresh, so forged kids cannot make the node hammer the issuer).
func (c *jwksCache) key(ctx context.Context, jwksURL, kid string) (*jose.JSONWebKey, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	e := c.m[jwksURL]
	var cached []jose.JSONWebKey
	fresh, mayFetch := false, true
	if e != nil {
		cached = e.set.Key(kid)
		fresh = now.Sub(e.fetched) < c.cfg.JWKSMaxAge
		mayFetch = now.Sub(e.lastAttempt) >= c.cfg.JWKSMinRefresh
		if mayFetch && (!fresh || len(cached) == 0) {
			e.lastAttempt = now
		}
	}
	c.mu.Unlock()
	if len(cached) > 0 && (fresh || !mayFetch) {
		return &cached[0], nil
	}
	if !mayFetch {
		return nil, nil
	}
	set, err := c.fetch(ctx, jwksURL)
	if err != nil {
		if len(cached) > 0 {
			return &cached[0], nil // the issuer is unreachable: keep using what it published
		}
		return nil, err
	}
	if ks := set.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	return nil, nil
}
