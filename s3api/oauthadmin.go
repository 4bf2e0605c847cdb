package s3api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// The admin operations of the OAuth2 authorization server: clients,
// signing keys and external issuers. Like every admin operation they are
// signed requests authorized by an admin:OAuth* action; their parameters
// travel in the (signed) query string, so they take no body.

// OAuth admin operations.
const (
	OpAdminOAuthClientAdd    Operation = "AdminOAuthClientAdd"
	OpAdminOAuthClientList   Operation = "AdminOAuthClientList"
	OpAdminOAuthClientRemove Operation = "AdminOAuthClientRemove"
	OpAdminOAuthKeyRotate    Operation = "AdminOAuthKeyRotate"
	OpAdminOAuthKeyList      Operation = "AdminOAuthKeyList"
	OpAdminOAuthIssuerAdd    Operation = "AdminOAuthIssuerAdd"
	OpAdminOAuthIssuerList   Operation = "AdminOAuthIssuerList"
	OpAdminOAuthIssuerRemove Operation = "AdminOAuthIssuerRemove"
)

// oauthAdminRoutes are the rows of adminRoutes for them.
var oauthAdminRoutes = []adminRoute{
	{http.MethodPost, "/oauth/clients", OpAdminOAuthClientAdd, "admin:OAuthClientAdd", []string{"name", "grant", "redirect_uri", "public", "user"}},
	{http.MethodGet, "/oauth/clients", OpAdminOAuthClientList, "admin:OAuthClientList", nil},
	{http.MethodDelete, "/oauth/clients", OpAdminOAuthClientRemove, "admin:OAuthClientRemove", []string{"name"}},
	{http.MethodPost, "/oauth/keys/rotate", OpAdminOAuthKeyRotate, "admin:OAuthKeyRotate", nil},
	{http.MethodGet, "/oauth/keys", OpAdminOAuthKeyList, "admin:OAuthKeyList", nil},
	{http.MethodPost, "/oauth/issuers", OpAdminOAuthIssuerAdd, "admin:OAuthIssuerAdd", []string{"url", "audience", "role", "claim_role"}},
	{http.MethodGet, "/oauth/issuers", OpAdminOAuthIssuerList, "admin:OAuthIssuerList", nil},
	{http.MethodDelete, "/oauth/issuers", OpAdminOAuthIssuerRemove, "admin:OAuthIssuerRemove", []string{"url"}},
}

// OAuthClientInput registers an OAuth client.
type OAuthClientInput struct {
	Name, Grant, User string
	RedirectURIs      []string
	Public            bool
}

// OAuthIssuerInput registers an external issuer. Roles are role ARNs any
// of its tokens may assume; ClaimRoles "claim=value=roleARN" mappings.
type OAuthIssuerInput struct {
	URL        string
	Audiences  []string
	Roles      []string
	ClaimRoles []string
}

// OAuthAdmin is what the OAuth admin operations need (cmd adapts
// *oauth.Provider). Errors wrapping ErrAdminInvalid answer InvalidArgument,
// ErrAdminNotFound NoSuchEntity, ErrAdminExists EntityAlreadyExists.
type OAuthAdmin interface {
	AddClient(ctx context.Context, in OAuthClientInput) (any, error)
	ListClients(ctx context.Context) (any, error)
	RemoveClient(ctx context.Context, name string) error
	RotateKey(ctx context.Context) (any, error)
	ListKeys(ctx context.Context) (any, error)
	AddIssuer(ctx context.Context, in OAuthIssuerInput) (any, error)
	ListIssuers(ctx context.Context) (any, error)
	RemoveIssuer(ctx context.Context, url string) error
}

// Errors an OAuthAdmin wraps to choose the answer.
var (
	ErrAdminInvalid  = errors.New("s3api: invalid admin argument")
	ErrAdminNotFound = errors.New("s3api: no such admin entity")
	ErrAdminExists   = errors.New("s3api: admin entity exists")
)

// oauthAdminError maps the OAuthAdmin errors (nil for other errors).
func oauthAdminError(err error) *APIError {
	for _, row := range []struct {
		kind error
		code ErrorCode
	}{{ErrAdminInvalid, ErrInvalidArgument}, {ErrAdminNotFound, ErrNoSuchEntity}, {ErrAdminExists, ErrEntityAlreadyExists}} {
		if errors.Is(err, row.kind) {
			return &APIError{Code: row.code, Message: strings.TrimPrefix(err.Error(), row.kind.Error()+": "), Err: err}
		}
	}
	return nil
}

func (s *Server) oauthAdminHandlers(ops map[Operation]handlerFunc) {
	h := func(fn func(ctx context.Context, a OAuthAdmin, req *request) (any, error)) handlerFunc {
		return s.admin(func(ctx context.Context, req *request) (any, error) {
			if s.cfg.OAuthAdmin == nil {
				return nil, apiErr(ErrNotImplemented, "The OAuth2 authorization server is not enabled on this server.")
			}
			v, err := fn(ctx, s.cfg.OAuthAdmin, req)
			if ae := oauthAdminError(err); ae != nil {
				return nil, ae
			}
			return v, err
		})
	}
	ops[OpAdminOAuthClientAdd] = h(func(ctx context.Context, a OAuthAdmin, req *request) (any, error) {
		q := req.URL.Query()
		public, err := optionalBool(q.Get("public"))
		if err != nil {
			return nil, err
		}
		return a.AddClient(ctx, OAuthClientInput{Name: q.Get("name"), Grant: q.Get("grant"), User: q.Get("user"),
			RedirectURIs: q["redirect_uri"], Public: public})
	})
	ops[OpAdminOAuthClientList] = h(func(ctx context.Context, a OAuthAdmin, _ *request) (any, error) { return a.ListClients(ctx) })
	ops[OpAdminOAuthClientRemove] = h(func(ctx context.Context, a OAuthAdmin, req *request) (any, error) {
		name := req.URL.Query().Get("name")
		if err := a.RemoveClient(ctx, name); err != nil {
			return nil, err
		}
		return map[string]string{"removed": name}, nil
	})
	ops[OpAdminOAuthKeyRotate] = h(func(ctx context.Context, a OAuthAdmin, _ *request) (any, error) { return a.RotateKey(ctx) })
	ops[OpAdminOAuthKeyList] = h(func(ctx context.Context, a OAuthAdmin, _ *request) (any, error) { return a.ListKeys(ctx) })
	ops[OpAdminOAuthIssuerAdd] = h(func(ctx context.Context, a OAuthAdmin, req *request) (any, error) {
		q := req.URL.Query()
		return a.AddIssuer(ctx, OAuthIssuerInput{URL: q.Get("url"), Audiences: q["audience"], Roles: q["role"], ClaimRoles: q["claim_role"]})
	})
	ops[OpAdminOAuthIssuerList] = h(func(ctx context.Context, a OAuthAdmin, _ *request) (any, error) { return a.ListIssuers(ctx) })
	ops[OpAdminOAuthIssuerRemove] = h(func(ctx context.Context, a OAuthAdmin, req *request) (any, error) {
		u := req.URL.Query().Get("url")
		if err := a.RemoveIssuer(ctx, u); err != nil {
			return nil, err
		}
		return map[string]string{"removed": u}, nil
	})
}

func optionalBool(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return false, apiErr(ErrInvalidArgument, "public must be true or false.")
	}
	return b, nil
}
