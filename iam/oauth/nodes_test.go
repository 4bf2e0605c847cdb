package oauth

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/iam"
)

// Two providers over one KV stand for two nodes: a flow begun on one ends
// on the other, and a revocation through one counts on the other.
func TestEveryNodeServesTheFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("alice")
	c := e.client(AddClientInput{Name: "app", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}})
	cfg := e.p.cfg
	sealer, _ := iam.NewStaticSealer(bytesOf(7), nil)
	p2, err := New(ctx, cfg, e.kv, sealer, e.ids)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	srv2 := httptest.NewServer(p2.Handler())
	defer srv2.Close()
	verifier, challenge := pkce()
	code := e.code(c.ID, loopback, challenge, "alice") // node 1
	node2 := &env{t: t, srv: srv2}
	tk := node2.tokenCall(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {loopback}, "code_verifier": {verifier}}, c.ID, c.Secret)
	if tk.status != http.StatusOK {
		t.Fatalf("code from node 1 redeemed on node 2: %d %s %s", tk.status, tk.Error, tk.Description)
	}
	if _, err := p2.AssumeRoleWithWebIdentity(ctx, tk.IDToken, iam.AssumeRoleWithWebIdentityInput{RoleARN: u.ARN, RoleSessionName: "n2"}); err != nil {
		t.Fatalf("node 2 verifies node 1's keys: %v", err)
	}
	if r := e.postJSON(PathRevoke, url.Values{"token": {tk.RefreshToken}}, c.ID, c.Secret); r.status != http.StatusOK {
		t.Fatalf("revoke on node 1: %d", r.status)
	}
	if _, err := p2.AssumeRoleWithWebIdentity(ctx, tk.IDToken, iam.AssumeRoleWithWebIdentityInput{RoleARN: u.ARN, RoleSessionName: "n2"}); !errors.Is(err, iam.ErrInvalidIdentityToken) {
		t.Fatalf("node 2 after a revocation on node 1: %v", err)
	}
	// A key rotated through node 2 signs node 1's next tokens.
	k, err := p2.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := e.codeGrant(c, loopback, "alice")
	if got := mustDecode(t, strings.Split(next.IDToken, ".")[0]); !strings.Contains(got, k.ID) {
		t.Fatalf("node 1 signs with %s after node 2 rotated to %s", got, k.ID)
	}
}

func bytesOf(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// A session policy narrows the user's own web identity session.
func TestWebIdentitySessionPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("alice")
	if err := e.ids.PutInlinePolicy(ctx, iam.UserEntity("alice"), "all",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	c := e.client(AddClientInput{Name: "cli", Grant: GrantAuthorizationCode, RedirectURIs: []string{loopback}, Public: true})
	tk := e.codeGrant(c, loopback, "alice")
	out, err := e.p.AssumeRoleWithWebIdentity(ctx, tk.IDToken, iam.AssumeRoleWithWebIdentityInput{RoleARN: u.ARN, RoleSessionName: "narrow",
		Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.ids.Credentials(ctx, out.Credentials.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]bool{"s3:GetObject": true, "s3:PutObject": false} {
		d, err := e.ids.Authorize(ctx, iam.AuthRequest{Caller: cred, Action: action, Resource: "arn:aws:s3:::b/k"})
		if err != nil || d.Allowed() != want {
			t.Errorf("%s: allowed=%v (%v), want %v", action, d.Allowed(), err, want)
		}
	}
}
