package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

// TestOAuthCluster: every node serves the OAuth2 server over the one
// replicated store. A user logs in through node 2, the code is redeemed on
// node 3, the ID token exchanged at node 1's STS; a revocation through
// node 2 is refused by node 3 within a second. The nodes share one
// --public-url (the issuer), as nodes behind one load balancer must.
func TestOAuthCluster(t *testing.T) {
	cl := harness.StartCluster(t, harness.ClusterOptions{Name: "oauthc", ECData: 2, ECParity: 1,
		ExtraArgs: []string{"--public-url", "https://s3.cluster.test"}})
	n1, n2, n3 := cl.Node(1), cl.Node(2), cl.Node(3)
	on1, on2, on3 := &oauthEnv{t: t, n: n1}, &oauthEnv{t: t, n: n2}, &oauthEnv{t: t, n: n3}
	root := n1.Clients(t)
	root.MustAWS("iam", "create-user", "--user-name", "alice")
	arn := strings.TrimSpace(root.MustAWS("iam", "get-user", "--user-name", "alice", "--query", "User.Arn", "--output", "text"))
	if r := on1.adminRun(oauthPassword+"\n", "user", "passwd", "alice"); r.Err != nil {
		t.Fatal(r)
	}
	r := cl.Admin(1, "oauth", "client", "add", "cli", "--grant", "authorization_code", "--redirect-uri", "http://127.0.0.1/callback", "--public")
	if r.Err != nil {
		t.Fatal(r)
	}
	id, _ := clientID(t, r.Stdout)

	v, c := pkcePair()
	resp, code := on2.codeFlow(id, "http://127.0.0.1/callback", c, "alice", oauthPassword)
	if resp.StatusCode/100 != 3 || code == "" {
		t.Fatalf("login on node 2: %d %s", resp.StatusCode, code)
	}
	tk := on3.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1/callback"},
		"client_id": {id}, "code_verifier": {v}}, id, "")
	if tk.Status != http.StatusOK {
		t.Fatalf("code from node 2 redeemed on node 3: %d %s", tk.Status, tk.Error)
	}
	if st, key := on1.sts(arn, tk.IDToken); st != http.StatusOK || !strings.HasPrefix(key, "ASIA") {
		t.Fatalf("node 1 STS: %d %s", st, key)
	}
	rv, err := http.PostForm(n2.URL("/.filesphere/oauth/revoke"), url.Values{"token": {tk.RefreshToken}, "client_id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	if body(t, rv); rv.StatusCode != http.StatusOK {
		t.Fatalf("revoke on node 2: %d", rv.StatusCode)
	}
	start := time.Now()
	if err := harness.Eventually(5*time.Second, 20*time.Millisecond, func() error {
		if st, code := on3.sts(arn, tk.IDToken); code != "InvalidIdentityToken" {
			return fmt.Errorf("node 3 after the revocation: %d %s", st, code)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the revocation took %s to reach node 3", took)
	}
}
