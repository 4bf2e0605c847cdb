package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"
)

// The device authorization grant (RFC 8628), for machines without a
// browser. The pinned fosite (v0.49.0) has no handler for it, so it is
// built here on fosite's primitives: the device authorization endpoint and
// the verification page are ours; the token endpoint grant is a
// fosite.TokenEndpointHandler, so client authentication, the access,
// refresh and ID tokens, their storage and the error answers are fosite's,
// as for every other grant.
//
// A device code is usable once, polled no faster than the interval
// (slow_down), and dies at its expiry (expired_token) or when the user
// denies it (access_denied). The user code is 8 letters from an alphabet
// without vowels or look-alikes (BCDFGHJKLMNPQRSTVWXZ, shown XXXX-XXXX), so
// 20^8 ≈ 2.6e10 codes; guessing one is as throttled as a password.

const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

type deviceStatus string

const (
	devicePending  deviceStatus = "pending"
	deviceApproved deviceStatus = "approved"
	deviceDenied   deviceStatus = "denied"
	deviceUsed     deviceStatus = "used"
)

type deviceRecord struct {
	ClientID string       `json:"client_id"`
	Scopes   []string     `json:"scopes,omitempty"`
	UserCode string       `json:"user_code"`
	Status   deviceStatus `json:"status"`
	Expires  time.Time    `json:"expires"`
	LastPoll time.Time    `json:"last_poll,omitzero"`
	// Set on approval: who approved, when.
	User, UserID, ARN string
	AuthTime          time.Time `json:"auth_time,omitzero"`
}

type userCodeRecord struct {
	Device  string    `json:"device"` // key of the device record
	Expires time.Time `json:"expires"`
}

func deviceKey(code string) string { return prefixDevice + hashed(code) }

func userCodeKey(code string) string { return prefixUserCode + normalizeUserCode(code) }

// normalizeUserCode drops separators and case, as RFC 8628 §6.1 advises.
func normalizeUserCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r
		}
		return -1
	}, s)
}

func newUserCode() (string, error) {
	var b strings.Builder
	for i := 0; i < 8; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(userCodeAlphabet))))
		if err != nil {
			return "", err
		}
		b.WriteByte(userCodeAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// deviceAuthorization is the device authorization endpoint (RFC 8628 §3.1).
func (p *Provider) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !p.devices.allow(sourceAddr(r), p.cfg.Now()) {
		w.Header().Set("Retry-After", "60")
		writeOAuthError(w, &fosite.RFC6749Error{ErrorField: "slow_down", DescriptionField: "Too many device authorizations from this address; try again later.",
			CodeField: http.StatusTooManyRequests})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, fosite.ErrInvalidRequest.WithHint("The body is not a form."))
		return
	}
	c, err := p.fosite.(*fosite.Fosite).AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		writeOAuthError(w, fosite.ErrInvalidClient.WithHint("Client authentication failed."))
		return
	}
	if !c.GetGrantTypes().Has(grantTypeDevice) {
		writeOAuthError(w, fosite.ErrUnauthorizedClient.WithHint("The client may not use the device authorization grant."))
		return
	}
	scopes := fosite.RemoveEmpty(strings.Split(r.PostForm.Get("scope"), " "))
	for _, s := range scopes {
		if !fosite.ExactScopeStrategy(c.GetScopes(), s) {
			writeOAuthError(w, fosite.ErrInvalidScope.WithHintf("The client may not request scope %q.", s))
			return
		}
	}
	deviceCode, err := randomToken(32)
	if err != nil {
		writeOAuthError(w, fosite.ErrServerError)
		return
	}
	exp := p.cfg.Now().Add(p.cfg.DeviceCodeLifespan).UTC()
	var userCode string
	for attempt := 0; ; attempt++ {
		if userCode, err = newUserCode(); err != nil {
			writeOAuthError(w, fosite.ErrServerError)
			return
		}
		rec := deviceRecord{ClientID: c.GetID(), Scopes: scopes, UserCode: userCode, Status: devicePending, Expires: exp}
		dop, err1 := put(deviceKey(deviceCode), rec)
		uop, err2 := put(userCodeKey(userCode), userCodeRecord{Device: deviceKey(deviceCode), Expires: exp})
		if err1 != nil || err2 != nil {
			writeOAuthError(w, fosite.ErrServerError)
			return
		}
		err = p.store.write(ctx, []meta.Compare{{Key: deviceKey(deviceCode)}, {Key: userCodeKey(userCode)}}, dop, uop)
		if err == nil {
			break
		}
		if !errors.Is(err, fosite.ErrSerializationFailure) || attempt > 4 {
			p.log.WithError(err).Error("storing a device code")
			writeOAuthError(w, fosite.ErrServerError)
			return
		}
	}
	shown := userCode[:4] + "-" + userCode[4:]
	uri := p.cfg.Issuer + PathDevice
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 shown,
		"verification_uri":          uri,
		"verification_uri_complete": uri + "?user_code=" + shown,
		"expires_in":                int(p.cfg.DeviceCodeLifespan.Seconds()),
		"interval":                  int(p.cfg.DevicePollInterval.Seconds()),
	})
}

func writeOAuthError(w http.ResponseWriter, e *fosite.RFC6749Error) {
	writeJSON(w, e.StatusCode(), map[string]string{"error": e.ErrorField, "error_description": e.GetDescription()})
}

// devicePage is the verification page: the user enters the code and signs
// in (the login form with its CSRF token and throttles), then approves or
// denies the device.
func (p *Provider) devicePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pg := page{Title: "Sign in a device", Form: true, Action: PathDevice, AskCode: true}
	if r.Method == http.MethodGet {
		pg.UserCode, pg.CSRF = printable(r.URL.Query().Get("user_code")), p.csrfToken(w, r)
		p.render(w, http.StatusOK, pg)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	pg.UserCode, pg.Username = printable(r.PostForm.Get("user_code")), r.PostForm.Get("username")
	fail := func(status int, msg string) {
		pg.CSRF, pg.Error = p.csrfToken(w, r), msg
		p.render(w, status, pg)
	}
	// The login first: a code is only looked up for a signed-in user, so
	// guessing codes costs what guessing passwords costs.
	u, status, msg := p.login(ctx, r)
	if msg != "" {
		fail(status, msg)
		return
	}
	code := normalizeUserCode(r.PostForm.Get("user_code"))
	var uc userCodeRecord
	_, found, err := get(ctx, p.kv, userCodeKey(code), &uc)
	if err != nil {
		fail(http.StatusServiceUnavailable, "Sign-in is unavailable; try again later.")
		return
	}
	if !found || len(code) != 8 || !p.cfg.Now().Before(uc.Expires) {
		fail(http.StatusBadRequest, "That code is unknown or has expired. Check the code your device shows.")
		return
	}
	approve := r.PostForm.Get("decision") != "deny"
	err = p.updateDevice(ctx, uc.Device, func(d *deviceRecord) error {
		if d.Status != devicePending {
			return errors.New("device code already decided")
		}
		if approve {
			d.Status, d.User, d.UserID, d.ARN, d.AuthTime = deviceApproved, u.Name, u.UserID, u.ARN, p.cfg.Now().UTC()
		} else {
			d.Status = deviceDenied
		}
		return nil
	}, meta.Delete(userCodeKey(code)))
	if err != nil {
		fail(http.StatusBadRequest, "That code is unknown or has already been used.")
		return
	}
	msg = "Device denied. You may close this page."
	if approve {
		msg = "Device signed in as " + u.Name + ". You may close this page and return to your device."
		p.log.WithField("user", u.Name).Info("OAuth device approved")
	}
	p.render(w, http.StatusOK, page{Title: "Sign in a device", Message: msg})
}

// updateDevice applies fn to the device record at key (compare-and-swap),
// with the extra ops.
func (p *Provider) updateDevice(ctx context.Context, key string, fn func(*deviceRecord) error, extra ...meta.Op) error {
	for attempt := 0; attempt < 8; attempt++ {
		var d deviceRecord
		rev, found, err := get(ctx, p.kv, key, &d)
		if err != nil {
			return err
		}
		if !found {
			return fosite.ErrNotFound
		}
		if err := fn(&d); err != nil {
			return err
		}
		op, err := put(key, d)
		if err != nil {
			return err
		}
		err = p.store.write(ctx, []meta.Compare{{Key: key, Revision: rev}}, append([]meta.Op{op}, extra...)...)
		if !errors.Is(err, fosite.ErrSerializationFailure) {
			return err
		}
	}
	return fosite.ErrSerializationFailure
}

// deviceGrant is the device_code grant at the token endpoint.
type deviceGrant struct {
	p        *Provider
	strategy *compose.CommonStrategy
}

var _ fosite.TokenEndpointHandler = (*deviceGrant)(nil)

func (g *deviceGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (g *deviceGrant) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return ar.GetGrantTypes().ExactOne(grantTypeDevice)
}

// deviceError is an RFC 8628 §3.5 answer.
func deviceError(code, desc string) error {
	return &fosite.RFC6749Error{ErrorField: code, DescriptionField: desc, CodeField: http.StatusBadRequest}
}

func (g *deviceGrant) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	if !ar.GetClient().GetGrantTypes().Has(grantTypeDevice) {
		return fosite.ErrUnauthorizedClient.WithHint("The client may not use the device authorization grant.")
	}
	code := ar.GetRequestForm().Get("device_code")
	if code == "" {
		return fosite.ErrInvalidRequest.WithHint("device_code is required.")
	}
	p := g.p
	now := p.cfg.Now()
	var got deviceRecord
	err := p.updateDevice(ctx, deviceKey(code), func(d *deviceRecord) error {
		got = *d
		switch {
		case d.ClientID != ar.GetClient().GetID():
			return fosite.ErrInvalidGrant.WithHint("The device code was issued to another client.")
		case !now.Before(d.Expires):
			return deviceError("expired_token", "The device code has expired; start again.")
		case d.Status == deviceDenied:
			return deviceError("access_denied", "The user denied the device.")
		case d.Status == deviceUsed:
			return fosite.ErrInvalidGrant.WithHint("The device code was already used.")
		case d.Status == devicePending && !d.LastPoll.IsZero() && now.Sub(d.LastPoll) < p.cfg.DevicePollInterval:
			d.LastPoll = now
			return nil // recorded below, answered slow_down
		case d.Status == devicePending:
			d.LastPoll = now
			return nil
		}
		d.Status = deviceUsed
		return nil
	})
	if errors.Is(err, fosite.ErrNotFound) {
		return fosite.ErrInvalidGrant.WithHint("The device code is unknown.")
	}
	if err != nil {
		return err
	}
	if got.Status == devicePending {
		if !got.LastPoll.IsZero() && now.Sub(got.LastPoll) < p.cfg.DevicePollInterval {
			return deviceError("slow_down", "Polling too fast; wait the interval, plus five seconds.")
		}
		return deviceError("authorization_pending", "The user has not yet approved the device.")
	}
	// Approved: the grant is the user's, with the scopes asked for.
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebug("unexpected session type")
	}
	ns := newUserSession(p.cfg.Issuer, got.ClientID, got.User, got.UserID, got.ARN, ar.GetID(), got.AuthTime)
	*sess = *ns
	for _, s := range got.Scopes {
		ar.GrantScope(s)
	}
	sess.SetExpiresAt(fosite.AccessToken, now.UTC().Add(p.cfg.AccessTokenLifespan).Round(time.Second))
	if ar.GetGrantedScopes().HasOneOf("offline_access", "offline") {
		sess.SetExpiresAt(fosite.RefreshToken, now.UTC().Add(p.cfg.RefreshTokenLifespan).Round(time.Second))
	}
	return nil
}

func (g *deviceGrant) PopulateTokenEndpointResponse(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	at, atSig, err := g.strategy.GenerateAccessToken(ctx, ar)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	store := g.p.store
	if err := store.CreateAccessTokenSession(ctx, atSig, ar.Sanitize(nil)); err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	resp.SetAccessToken(at)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(g.p.cfg.AccessTokenLifespan)
	resp.SetScopes(ar.GetGrantedScopes())
	if ar.GetGrantedScopes().HasOneOf("offline_access", "offline") {
		rt, rtSig, err := g.strategy.GenerateRefreshToken(ctx, ar)
		if err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
		if err := store.CreateRefreshTokenSession(ctx, rtSig, atSig, ar.Sanitize(nil)); err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
		resp.SetExtra("refresh_token", rt)
	}
	if ar.GetGrantedScopes().Has("openid") {
		helper := &openid.IDTokenHandleHelper{IDTokenStrategy: g.strategy}
		claims := ar.GetSession().(*Session).IDTokenClaims()
		claims.AccessTokenHash = helper.GetAccessTokenHash(ctx, ar, resp)
		if err := helper.IssueExplicitIDToken(ctx, g.p.cfg.IDTokenLifespan, ar, resp); err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
	}
	return nil
}
