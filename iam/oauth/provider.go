package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/sirupsen/logrus"
)

// The endpoints. The issuer is the S3 endpoint itself, so discovery is at
// its /.well-known/openid-configuration; everything else lives under
// PathPrefix. Neither ".well-known" nor ".filesphere" can be a bucket name
// (no bucket name starts with a dot), so no bucket is shadowed.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathPrefix     = "/.filesphere/oauth"
	PathJWKS       = PathPrefix + "/jwks"
	PathAuthorize  = PathPrefix + "/authorize"
	PathToken      = PathPrefix + "/token"
	PathRevoke     = PathPrefix + "/revoke"
	PathIntrospect = PathPrefix + "/introspect"
	PathUserinfo   = PathPrefix + "/userinfo"
	PathDeviceCode = PathPrefix + "/device/code"
	PathDevice     = PathPrefix + "/device"
)

// maxForm bounds an endpoint's request body.
const maxForm = 64 << 10

// Provider is the OAuth2 / OpenID Connect authorization server: fosite
// over the replicated KV, with the users and their passwords of iam. It
// serves HTTP (Handler) and exchanges its own tokens and external issuers'
// for temporary S3 credentials (AssumeRoleWithWebIdentity). Safe for
// concurrent use.
type Provider struct {
	cfg     Config
	kv      meta.KV
	stale   meta.KV
	ids     *iam.Service
	store   *store
	keys    *keyRing
	fosite  fosite.OAuth2Provider
	fcfg    *fosite.Config
	csrfKey []byte
	log     *logrus.Entry
	jwks    *jwksCache
	devices *addrLimiter
	mux     *http.ServeMux

	closing   chan struct{}
	bg        sync.WaitGroup
	closeOnce sync.Once
}

// New builds a Provider over kv (the same KV as ids), sealing its secrets
// with sealer. The first start creates the HMAC secret and the first
// signing key; concurrent first starts on several nodes agree on one.
func New(ctx context.Context, cfg Config, kv meta.KV, sealer iam.Sealer, ids *iam.Service) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if kv == nil || sealer == nil || ids == nil {
		return nil, errors.New("oauth: KV, Sealer and iam.Service are required")
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	p := &Provider{cfg: cfg, kv: kv, stale: kv, ids: ids, log: cfg.Log.WithField("component", "oauth"), closing: make(chan struct{})}
	if v, ok := kv.(interface{ Stale() meta.KV }); ok {
		p.stale = v.Stale()
	}
	p.store = &store{kv: kv, stale: p.stale, now: cfg.Now, idLifespan: cfg.IDTokenLifespan}
	p.keys = &keyRing{kv: kv, stale: p.stale, sealer: sealer, now: cfg.Now, retain: cfg.retain()}
	if err := p.keys.ensure(ctx); err != nil {
		return nil, fmt.Errorf("oauth: signing key: %w", err)
	}
	secret, err := loadSecret(ctx, kv, sealer)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("csrf"))
	p.csrfKey = mac.Sum(nil)
	p.jwks = newJWKSCache(cfg)
	p.devices = newAddrLimiter(cfg.DeviceCodesPerMinute, cfg.DeviceCodeBurst)
	p.compose(secret)
	p.routes()
	if cfg.SweepInterval > 0 {
		p.bg.Add(1)
		go p.sweepLoop()
	}
	return p, nil
}

// Close stops the background sweep.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() { close(p.closing) })
	p.bg.Wait()
	return nil
}

// Issuer is the issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) compose(secret []byte) {
	fc := &fosite.Config{
		AccessTokenLifespan:            p.cfg.AccessTokenLifespan,
		RefreshTokenLifespan:           p.cfg.RefreshTokenLifespan,
		AuthorizeCodeLifespan:          p.cfg.AuthCodeLifespan,
		IDTokenLifespan:                p.cfg.IDTokenLifespan,
		IDTokenIssuer:                  p.cfg.Issuer,
		AccessTokenIssuer:              p.cfg.Issuer,
		TokenURL:                       p.cfg.Issuer + PathToken,
		GlobalSecret:                   secret,
		EnforcePKCE:                    true,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		ClientSecretsHasher:            secretHasher{},
		SendDebugMessagesToClients:     false,
		OmitRedirectScopeParam:         false,
	}
	sig := signer{ring: p.keys}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               &oauth2.DefaultJWTStrategy{Signer: sig, HMACSHAStrategy: compose.NewOAuth2HMACStrategy(fc), Config: fc},
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: sig, Config: fc},
		Signer:                     sig,
	}
	// No implicit, hybrid or password grants: they are never composed.
	p.fosite = compose.Compose(fc, p.store, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	fc.TokenEndpointHandlers.Append(&deviceGrant{p: p, strategy: strategy})
	p.fcfg = fc
}

// loadSecret reads (or, on the first start, creates) the HMAC secret.
func loadSecret(ctx context.Context, kv meta.KV, sealer iam.Sealer) ([]byte, error) {
	for attempt := 0; attempt < 4; attempt++ {
		e, err := kv.Get(ctx, keySecret)
		if err == nil {
			s, err := sealer.Open(ctx, sealPurpose("secret"), e.Value)
			if err != nil {
				return nil, fmt.Errorf("oauth: open the token secret: %w", err)
			}
			return s, nil
		}
		if !errors.Is(err, meta.ErrNotFound) {
			return nil, err
		}
		raw, err := randomBytes(32)
		if err != nil {
			return nil, err
		}
		sealed, err := sealer.Seal(ctx, sealPurpose("secret"), raw)
		if err != nil {
			return nil, err
		}
		_, err = kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: keySecret}}, Ops: []meta.Op{meta.Put(keySecret, sealed)}})
		var cf *meta.CompareFailedError
		if err == nil {
			return raw, nil
		}
		if !errors.As(err, &cf) {
			return nil, err
		}
	}
	return nil, errors.New("oauth: could not settle the token secret")
}

// RotateKey makes a new signing key; the old one stays in the JWKS until
// its tokens expire.
func (p *Provider) RotateKey(ctx context.Context) (KeyInfo, error) { return p.keys.Rotate(ctx) }

// Keys lists the signing keys.
func (p *Provider) Keys(ctx context.Context) ([]KeyInfo, error) { return p.keys.List(ctx) }

// Handler serves the OAuth2 / OpenID Connect endpoints (the paths above).
// The S3 API mounts it for those paths; it authenticates by its own means
// (client authentication, PKCE, the login form with its CSRF token).
func (p *Provider) Handler() http.Handler { return p.mux }

func (p *Provider) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+PathDiscovery, p.discovery)
	m.HandleFunc("GET "+PathJWKS, p.serveJWKS)
	m.HandleFunc("GET "+PathAuthorize, p.authorize)
	m.HandleFunc("POST "+PathAuthorize, p.authorize)
	m.HandleFunc("POST "+PathToken, p.token)
	m.HandleFunc("POST "+PathRevoke, p.revoke)
	m.HandleFunc("POST "+PathIntrospect, p.introspect)
	m.HandleFunc("GET "+PathUserinfo, p.userinfo)
	m.HandleFunc("POST "+PathUserinfo, p.userinfo)
	m.HandleFunc("POST "+PathDeviceCode, p.deviceAuthorization)
	m.HandleFunc("GET "+PathDevice, p.devicePage)
	m.HandleFunc("POST "+PathDevice, p.devicePage)
	p.mux = http.NewServeMux()
	p.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		m.ServeHTTP(w, r)
	}))
}

// secure reports whether the request came over TLS.
func (p *Provider) secure(r *http.Request) bool {
	return r.TLS != nil || (p.cfg.TrustForwardedProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func sourceAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + PathAuthorize,
		"token_endpoint":                        iss + PathToken,
		"jwks_uri":                              iss + PathJWKS,
		"userinfo_endpoint":                     iss + PathUserinfo,
		"revocation_endpoint":                   iss + PathRevoke,
		"introspection_endpoint":                iss + PathIntrospect,
		"device_authorization_endpoint":         iss + PathDeviceCode,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials", grantTypeDevice},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(keyAlg)},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"scopes_supported":                      clientScopes,
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "preferred_username", claimARN},
	})
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	set, err := p.keys.jwks(r.Context())
	if err != nil {
		p.log.WithError(err).Error("reading the signing keys")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, set)
}

// token is the token endpoint: authorization_code (with PKCE),
// refresh_token (rotating), client_credentials and device_code.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess := NewSession()
	ar, err := p.fosite.NewAccessRequest(ctx, r, sess)
	if err != nil {
		p.accessError(ctx, w, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		if err := p.serviceSession(ctx, ar, sess); err != nil {
			p.accessError(ctx, w, ar, err)
			return
		}
	} else if s, ok := ar.GetSession().(*Session); ok && s.User != "" {
		// A grant dies with its user: a disabled or deleted user's refresh
		// token gets nothing more, and its family is revoked.
		if err := p.ids.LiveUser(ctx, s.User, s.UserID); err != nil {
			_ = p.store.revokeFamily(ctx, ar.GetID())
			p.accessError(ctx, w, ar, fosite.ErrInvalidGrant.WithHint("The user of this grant is disabled or no longer exists."))
			return
		}
	}
	resp, err := p.fosite.NewAccessResponse(ctx, ar)
	if err != nil {
		p.accessError(ctx, w, ar, err)
		return
	}
	p.fosite.WriteAccessResponse(ctx, w, ar, resp)
}

func (p *Provider) accessError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	p.logRefusal("token", err)
	p.fosite.WriteAccessError(ctx, w, ar, err)
}

func (p *Provider) logRefusal(endpoint string, err error) {
	var re *fosite.RFC6749Error
	if errors.As(err, &re) && re.CodeField < 500 {
		p.log.WithField("endpoint", endpoint).WithField("error", re.ErrorField).Debug(re.GetDescription())
		return
	}
	p.log.WithField("endpoint", endpoint).WithError(err).Warn("request failed")
}

// serviceSession fills a client-credentials grant's session with the IAM
// user the client acts as.
func (p *Provider) serviceSession(ctx context.Context, ar fosite.AccessRequester, sess *Session) error {
	c, ok := ar.GetClient().(*client)
	if !ok || c.rec.User == "" {
		return fosite.ErrUnauthorizedClient.WithHint("The client has no service user.")
	}
	u, err := p.ids.ServiceUser(ctx, c.rec.User)
	if err != nil {
		return fosite.ErrAccessDenied.WithHint("The client's service user does not exist or is disabled.")
	}
	ns := newUserSession(p.cfg.Issuer, c.GetID(), u.Name, u.UserID, u.ARN, ar.GetID(), p.cfg.Now())
	ns.OIDC.ExpiresAt = sess.OIDC.ExpiresAt
	*sess = *ns
	return nil
}

func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := p.fosite.NewRevocationRequest(ctx, r)
	if err != nil {
		p.logRefusal("revoke", err)
	}
	p.fosite.WriteRevocationResponse(ctx, w, err)
}

func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	resp, err := p.fosite.NewIntrospectionRequest(ctx, r, NewSession())
	if err != nil {
		p.logRefusal("introspect", err)
		p.fosite.WriteIntrospectionError(ctx, w, err)
		return
	}
	p.fosite.WriteIntrospectionResponse(ctx, w, resp)
}

// userinfo answers the claims of the user a bearer access token stands for.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok := fosite.AccessTokenFromRequest(r)
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	_, ar, err := p.fosite.IntrospectToken(ctx, tok, fosite.AccessToken, NewSession())
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	s, _ := ar.GetSession().(*Session)
	if s == nil || s.User == "" || p.ids.LiveUser(ctx, s.User, s.UserID) != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": s.UserID, "preferred_username": s.User, claimARN: s.JWT.Extra[claimARN]})
}

// sweepLoop deletes expired records on the leader.
func (p *Provider) sweepLoop() {
	defer p.bg.Done()
	t := time.NewTicker(p.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if p.cfg.IsLeader != nil && !p.cfg.IsLeader() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := p.Sweep(ctx); err != nil {
				p.log.WithError(err).Warn("sweeping expired OAuth records")
			}
			cancel()
		case <-p.closing:
			return
		}
	}
}

// Sweep deletes the expired codes, tokens, families, device codes and
// login failure records (they are refused anyway; this frees the space).
func (p *Provider) Sweep(ctx context.Context) error {
	now := p.cfg.Now()
	for _, prefix := range []string{prefixCode, prefixAccess, prefixRefresh, prefixFamily, prefixDevice, prefixUserCode, prefixFail, prefixPKCE, prefixOIDC} {
		start := prefix
		for {
			es, err := p.stale.List(ctx, prefix, start, 256)
			if err != nil {
				return err
			}
			var tx meta.Txn
			for _, e := range es {
				var rec struct {
					Expires     time.Time `json:"expires"`
					RequestedAt time.Time `json:"requested_at"`
				}
				if json.Unmarshal(e.Value, &rec) != nil {
					continue
				}
				exp := rec.Expires
				if exp.IsZero() && !rec.RequestedAt.IsZero() {
					// PKCE and OpenID Connect requests live as long as a code.
					exp = rec.RequestedAt.Add(p.cfg.AuthCodeLifespan + time.Minute)
				}
				if !exp.IsZero() && now.After(exp) {
					tx.Compares = append(tx.Compares, meta.Compare{Key: e.Key, Revision: e.Revision})
					tx.Ops = append(tx.Ops, meta.Delete(e.Key))
				}
			}
			if len(tx.Ops) > 0 {
				var cf *meta.CompareFailedError
				if _, err := p.kv.Txn(ctx, tx); err != nil && !errors.As(err, &cf) {
					return err
				}
			}
			if len(es) < 256 {
				break
			}
			start = es[len(es)-1].Key + "\x00"
		}
	}
	return nil
}
