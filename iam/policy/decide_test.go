package policy

import (
	"strings"
	"testing"
)

// Trust policies decide AssumeRole: the Federated element matches
// web-identity callers (a later OAuth2 issue relies on it), Service
// matches services, and a same-account user named directly needs no
// identity policy.
func TestTrustPolicies(t *testing.T) {
	trust := mustParse(t, KindTrust, `{"Version":"2012-10-17","Statement":[
	 {"Sid":"WebIdentity","Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity",
	  "Condition":{"StringEquals":{"accounts.google.com:aud":"client-1"}}},
	 {"Sid":"Service","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
	 {"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"},
	 {"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:TagSession"}]}`)
	sets := PolicySets{Resource: []Named{{Name: "trust", Policy: trust}}}
	role := "arn:aws:iam::111122223333:role/R"
	web := Principal{Type: PrincipalWebIdentity, Provider: "accounts.google.com"}
	cases := []struct {
		name string
		req  Request
		want Effect
		sid  string
	}{
		{"web identity, right audience", rq(web, "sts:AssumeRoleWithWebIdentity", role, "accounts.google.com:aud", "client-1"), Allow, "WebIdentity"},
		{"web identity, wrong audience", rq(web, "sts:AssumeRoleWithWebIdentity", role, "accounts.google.com:aud", "client-2"), Deny, ""},
		{"web identity, other provider", rq(Principal{Type: PrincipalWebIdentity, Provider: "graph.facebook.com"}, "sts:AssumeRoleWithWebIdentity", role, "accounts.google.com:aud", "client-1"), Deny, ""},
		{"service", rq(Principal{Type: PrincipalService, Service: "ec2.amazonaws.com"}, "sts:AssumeRole", role), Allow, "Service"},
		{"user named", rq(testUser("alice"), "sts:AssumeRole", role), Allow, "Alice"},
		{"user not named", rq(testUser("bob"), "sts:AssumeRole", role), Deny, ""},
		{"account named: delegation only", rq(testUser("bob"), "sts:TagSession", role), Deny, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.req, sets)
			if d.Effect != c.want || d.Sid != c.sid {
				t.Fatalf("Decide = %v, want %s %q", d, c.want, c.sid)
			}
		})
	}
}

func TestDecideDetails(t *testing.T) {
	deny := mustParse(t, KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`)
	bucketDeny := mustParse(t, KindResource, denyAllDeletes)
	req := rq(testUser("alice"), "s3:DeleteObject", bucket+"/a")

	// Resource policies are reported first when several deny.
	d := Decide(req, PolicySets{Identity: []Named{{Name: "inline", Policy: deny}}, Resource: []Named{{Name: "bucket policy", Policy: bucketDeny}}})
	want := `Deny (explicit deny) by resource policy "bucket policy" statement 0 "deny-deletes"`
	if d.String() != want || d.Source != SourceResource || d.Policy != "bucket policy" || d.Statement != 0 {
		t.Fatalf("got %v (%+v), want %s", d, d, want)
	}
	// The deny is found after an allow in the same policy.
	d = Decide(req, PolicySets{Identity: []Named{{Name: "inline", Policy: deny}}})
	if d.Effect != Deny || d.Statement != 1 || d.Sid != "NoDelete" || d.Source != SourceIdentity {
		t.Fatalf("got %+v", d)
	}
	// Nil policies are skipped; no policy at all is an implicit deny.
	d = Decide(req, PolicySets{Identity: []Named{{Name: "missing"}}})
	if d.Effect != Deny || d.Reason != ReasonImplicitDeny || d.String() != "Deny (implicit deny)" {
		t.Fatalf("got %v", d)
	}
	if (Decision{Effect: Allow}).Allowed() != true || d.Allowed() {
		t.Fatal("Allowed")
	}
	// The most specific resource grant is reported.
	both := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[
	 {"Sid":"acct","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"*"},
	 {"Sid":"user","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"*"}]}`)
	d = Decide(rq(testUser("alice"), "s3:GetObject", bucket+"/a"), PolicySets{Resource: []Named{{Name: "bp", Policy: both}}})
	if !d.Allowed() || d.Sid != "user" {
		t.Fatalf("got %v", d)
	}
	for _, r := range []Reason{ReasonImplicitDeny, ReasonExplicitDeny, ReasonAllowed, ReasonRoot, ReasonSessionPolicy, ReasonCrossAccount, 99} {
		if r.String() == "" {
			t.Errorf("Reason %d has no text", r)
		}
	}
}

// Evaluate applies one policy alone.
func TestEvaluate(t *testing.T) {
	p := mustParse(t, KindIdentity, onlyOneBucket)
	if r := p.Evaluate(rq(testUser("a"), "s3:GetObject", bucket+"/k")); r.Effect != Allow || r.Statement != 0 {
		t.Errorf("inside: %+v", r)
	}
	if r := p.Evaluate(rq(testUser("a"), "s3:GetObject", "arn:aws:s3:::x/k")); r.Effect != Deny || r.Sid != "OnlyCorp" {
		t.Errorf("outside: %+v", r)
	}
	// A non-ARN resource is outside every NotResource entry: the Deny applies.
	if r := p.Evaluate(rq(testUser("a"), "s3:ListAllMyBuckets", "*")); r.Effect != Deny || r.Sid != "OnlyCorp" {
		t.Errorf("non-ARN resource under NotResource: %+v", r)
	}
	q := mustParse(t, KindIdentity, mixedCase)
	if r := q.Evaluate(rq(testUser("a"), "s3:PutObject", bucket+"/Reports/x")); r.Effect != "" || r.Statement != -1 {
		t.Errorf("no match: %+v", r)
	}
	if p.Kind() != KindIdentity || KindTrust.String() != "trust" || !strings.Contains(string(mustMarshal(t, p)), `"NotResource"`) {
		t.Error("accessors")
	}
}

func mustMarshal(t *testing.T, p *Policy) []byte {
	t.Helper()
	b, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A compiled Policy is shared by all requests: run Decide concurrently
// (meaningful under -race).
func TestDecideConcurrently(t *testing.T) {
	sets := PolicySets{Identity: []Named{{Name: "home", Policy: mustParse(t, KindIdentity, homeFolders)}},
		Resource: []Named{{Name: "bp", Policy: mustParse(t, KindResource, ipFence)}}}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			ok := true
			for i := 0; i < 200; i++ {
				r := rq(testUser("alice"), "s3:GetObject", bucket+"/home/alice/x", "aws:SourceIp", "192.0.2.1")
				ok = ok && Decide(r, sets).Allowed()
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("a concurrent Decide was wrong")
		}
	}
}
