package policy

import (
	"strings"
	"testing"
	"time"
)

const (
	acct      = "111122223333"
	otherAcct = "444455556666"
)

// t0 is the clock reading of test requests.
var t0 = time.Date(2020, 5, 15, 12, 0, 0, 0, time.UTC)

func testUser(name string) Principal {
	return Principal{Type: PrincipalUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/" + name,
		Username: name, UserID: "AIDA" + strings.ToUpper(name)}
}

func testUserIn(account, name string) Principal {
	p := testUser(name)
	p.Account, p.ARN = account, "arn:aws:iam::"+account+":user/"+name
	return p
}

func testSession(role, session string) Principal {
	return Principal{Type: PrincipalAssumedRole, Account: acct,
		ARN:     "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session,
		RoleARN: "arn:aws:iam::" + acct + ":role/" + role, UserID: "AROAEXAMPLE:" + session}
}

func testRoot() Principal {
	return Principal{Type: PrincipalAccount, Account: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}
}

// rq builds a request at t0 with context key/value pairs.
func rq(p Principal, action, resource string, kv ...string) Request {
	r := Request{Principal: p, Action: action, Resource: resource, Time: t0}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Context.Set(kv[i], kv[i+1])
	}
	return r
}

// with sets a (possibly multi-valued or empty) key on a copy of r.
func with(r Request, key string, vals ...string) Request {
	var c Context
	for k, v := range r.Context.m {
		c.Set(k, v...)
	}
	c.Set(key, vals...)
	r.Context = c
	return r
}

func at(r Request, t time.Time) Request { r.Time = t; return r }

func mustParse(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}
