package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/ory/fosite"
)

// OAuth clients are registered by admins. A client is public (the CLI, a
// browser app: no secret, PKCE protects its codes) or confidential (its
// secret is shown once at creation and stored as SHA-256 only: secrets are
// 256 random bits, so a fast hash is as safe as a slow one). One grant per
// client: authorization_code (with refresh_token), device_code (with
// refresh_token) or client_credentials, which acts as an IAM user (a
// service identity with its own policies).

// Grant names as the admin API takes them.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantDeviceCode        = "device_code"
	GrantClientCredentials = "client_credentials"
	// grantTypeDevice is RFC 8628's grant_type.
	grantTypeDevice = "urn:ietf:params:oauth:grant-type:device_code"
)

// clientScopes are the scopes every client may request.
var clientScopes = []string{"openid", "offline_access", "profile"}

type clientRecord struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Grant        string    `json:"grant"`
	SecretHash   []byte    `json:"secret_hash,omitempty"`
	RedirectURIs []string  `json:"redirect_uris,omitempty"`
	Public       bool      `json:"public,omitempty"`
	User         string    `json:"user,omitempty"` // client_credentials: the IAM user it acts as
	Created      time.Time `json:"created"`
}

// client is a registered client as fosite sees it.
type client struct {
	fosite.DefaultClient
	rec clientRecord
}

func (r clientRecord) fosite() *client {
	c := &client{rec: r, DefaultClient: fosite.DefaultClient{ID: r.ID, Secret: r.SecretHash, RedirectURIs: r.RedirectURIs,
		Scopes: clientScopes, Public: r.Public}}
	switch r.Grant {
	case GrantAuthorizationCode:
		c.GrantTypes, c.ResponseTypes = []string{"authorization_code", "refresh_token"}, []string{"code"}
	case GrantDeviceCode:
		c.GrantTypes = []string{grantTypeDevice, "refresh_token"}
	case GrantClientCredentials:
		c.GrantTypes = []string{"client_credentials"}
	}
	return c
}

// Client describes a registered client (never its secret).
type Client struct {
	ID           string    `json:"client_id"`
	Name         string    `json:"name"`
	Grant        string    `json:"grant"`
	RedirectURIs []string  `json:"redirect_uris,omitempty"`
	Public       bool      `json:"public"`
	User         string    `json:"user,omitempty"`
	Created      time.Time `json:"created"`
}

// NewClient is a client just registered, with its secret (confidential
// clients only; shown this once).
type NewClient struct {
	Client
	Secret string `json:"client_secret,omitempty"`
}

// AddClientInput registers a client.
type AddClientInput struct {
	Name         string
	Grant        string
	RedirectURIs []string
	Public       bool
	User         string
}

func (r clientRecord) view() Client {
	return Client{ID: r.ID, Name: r.Name, Grant: r.Grant, RedirectURIs: slices.Clone(r.RedirectURIs), Public: r.Public, User: r.User, Created: r.Created}
}

var clientNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Errors of the client, key and issuer management (the admin API maps them
// to InvalidArgument, NoSuchOAuthClient, …).
var (
	ErrInvalid      = errors.New("oauth: invalid argument")
	ErrNoSuchClient = errors.New("oauth: no such client")
	ErrClientExists = errors.New("oauth: client already exists")
	ErrNoSuchIssuer = errors.New("oauth: no such issuer")
	ErrIssuerExists = errors.New("oauth: issuer already registered")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidRedirectURI reports whether raw may be registered as a redirect
// URI (see checkRedirectURI), with the reason when not.
func ValidRedirectURI(raw string) error { return checkRedirectURI(raw) }

// checkRedirectURI admits absolute https URIs, and http ones only on a
// loopback address (native apps, RFC 8252) or localhost; no fragments.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil {
		return invalidf("redirect URI %q must be an absolute URL without fragment or user info", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && fosite.IsLocalhost(u) {
		return nil
	}
	return invalidf("redirect URI %q must use https (http only for loopback addresses)", raw)
}

// AddClient registers a client.
func (p *Provider) AddClient(ctx context.Context, in AddClientInput) (NewClient, error) {
	if !clientNameRE.MatchString(in.Name) {
		return NewClient{}, invalidf("client name %q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", in.Name)
	}
	rec := clientRecord{Name: in.Name, Grant: in.Grant, Public: in.Public, Created: p.cfg.Now().UTC()}
	switch in.Grant {
	case GrantAuthorizationCode:
		if len(in.RedirectURIs) == 0 {
			return NewClient{}, invalidf("an authorization_code client needs at least one --redirect-uri")
		}
	case GrantDeviceCode:
		if len(in.RedirectURIs) > 0 {
			return NewClient{}, invalidf("a device_code client takes no redirect URI")
		}
	case GrantClientCredentials:
		if in.Public {
			return NewClient{}, invalidf("a client_credentials client cannot be public: its secret is its identity")
		}
		if in.User == "" {
			return NewClient{}, invalidf("a client_credentials client needs --user, the IAM user it acts as")
		}
		if len(in.RedirectURIs) > 0 {
			return NewClient{}, invalidf("a client_credentials client takes no redirect URI")
		}
		u, err := p.ids.ServiceUser(ctx, in.User)
		if err != nil {
			return NewClient{}, err
		}
		rec.User = u.Name
	default:
		return NewClient{}, invalidf("grant %q is not one of authorization_code, device_code, client_credentials", in.Grant)
	}
	if in.User != "" && in.Grant != GrantClientCredentials {
		return NewClient{}, invalidf("--user is for client_credentials clients only")
	}
	for _, u := range in.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return NewClient{}, err
		}
	}
	rec.RedirectURIs = slices.Compact(slices.Sorted(slices.Values(in.RedirectURIs)))
	id, err := randomToken(16)
	if err != nil {
		return NewClient{}, err
	}
	rec.ID = "fsc-" + id
	out := NewClient{}
	if !in.Public {
		secret, err := randomToken(32)
		if err != nil {
			return NewClient{}, err
		}
		out.Secret = secret
		h := sha256.Sum256([]byte(secret))
		rec.SecretHash = h[:]
	}
	cb, err := json.Marshal(rec)
	if err != nil {
		return NewClient{}, err
	}
	_, err = p.kv.Txn(ctx, meta.Txn{
		Compares: []meta.Compare{{Key: clientNameKey(in.Name)}, {Key: clientKey(rec.ID)}},
		Ops:      []meta.Op{meta.Put(clientKey(rec.ID), cb), meta.Put(clientNameKey(in.Name), []byte(rec.ID))}})
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		return NewClient{}, fmt.Errorf("%w: a client named %s exists", ErrClientExists, in.Name)
	}
	if err != nil {
		return NewClient{}, err
	}
	out.Client = rec.view()
	return out, nil
}

// EnsurePublicClient makes sure a public authorization_code client named
// name exists and admits redirectURI, registering it or adding the URI as
// needed: idempotent, and safe on every node at once (the writes compare
// revisions). It is how a first-party application such as the web console
// keeps its own client. A client of that name of another kind
// (confidential, another grant) is left alone: ErrClientExists.
func (p *Provider) EnsurePublicClient(ctx context.Context, name, redirectURI string) (Client, error) {
	if err := checkRedirectURI(redirectURI); err != nil {
		return Client{}, err
	}
	for range 8 {
		e, err := p.kv.Get(ctx, clientNameKey(name))
		if errors.Is(err, meta.ErrNotFound) {
			c, err := p.AddClient(ctx, AddClientInput{Name: name, Grant: GrantAuthorizationCode, RedirectURIs: []string{redirectURI}, Public: true})
			if errors.Is(err, ErrClientExists) {
				continue // registered a moment ago elsewhere
			}
			return c.Client, err
		}
		if err != nil {
			return Client{}, err
		}
		var r clientRecord
		rev, found, err := get(ctx, p.kv, clientKey(string(e.Value)), &r)
		if err != nil {
			return Client{}, err
		}
		if !found {
			return Client{}, fmt.Errorf("oauth: client name %s points to no client", name)
		}
		if r.Grant != GrantAuthorizationCode || !r.Public {
			return Client{}, fmt.Errorf("%w: a client named %s exists that is not a public authorization_code client", ErrClientExists, name)
		}
		if slices.Contains(r.RedirectURIs, redirectURI) {
			return r.view(), nil
		}
		r.RedirectURIs = slices.Compact(slices.Sorted(slices.Values(append(r.RedirectURIs, redirectURI))))
		op, err := put(clientKey(r.ID), r)
		if err != nil {
			return Client{}, err
		}
		_, err = p.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: clientNameKey(name), Revision: e.Revision}, {Key: clientKey(r.ID), Revision: rev}},
			Ops: []meta.Op{op}})
		var cf *meta.CompareFailedError
		if errors.As(err, &cf) {
			continue // changed meanwhile: look again
		}
		if err != nil {
			return Client{}, err
		}
		return r.view(), nil
	}
	return Client{}, fmt.Errorf("oauth: client %s kept changing while being ensured", name)
}

// ListClients lists the clients by name.
func (p *Provider) ListClients(ctx context.Context) ([]Client, error) {
	es, err := p.kv.List(ctx, prefixClient, prefixClient, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(es))
	for _, e := range es {
		var r clientRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("oauth: corrupt client %s: %w", e.Key, err)
		}
		out = append(out, r.view())
	}
	slices.SortFunc(out, func(a, b Client) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// RemoveClient removes a client by name: its codes and tokens stop
// working at once (every lookup needs the client).
func (p *Provider) RemoveClient(ctx context.Context, name string) error {
	e, err := p.kv.Get(ctx, clientNameKey(name))
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoSuchClient, name)
	}
	if err != nil {
		return err
	}
	id := string(e.Value)
	_, err = p.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: clientNameKey(name), Revision: e.Revision}},
		Ops: []meta.Op{meta.Delete(clientNameKey(name)), meta.Delete(clientKey(id))}})
	return err
}

// GetClient implements fosite.ClientManager.
func (s *store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.client(ctx, id)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (s *store) client(ctx context.Context, id string) (*client, error) {
	if id == "" || len(id) > 128 {
		return nil, fosite.ErrNotFound
	}
	var r clientRecord
	_, found, err := get(ctx, s.stale, clientKey(id), &r)
	if err != nil {
		return nil, err
	}
	if !found {
		// A client registered a moment ago through another node.
		if _, found, err = get(ctx, s.kv, clientKey(id), &r); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fosite.ErrNotFound
	}
	return r.fosite(), nil
}

// secretHasher compares client secrets: SHA-256, constant time.
type secretHasher struct{}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	h := sha256.Sum256(data)
	return h[:], nil
}

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	h := sha256.Sum256(data)
	if len(hash) != len(h) || subtle.ConstantTimeCompare(hash, h[:]) != 1 {
		return errors.New("oauth: client secret mismatch")
	}
	return nil
}

// randomToken is n random bytes, base64url.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
