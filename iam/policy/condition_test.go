package policy

import "testing"

// TestConditionOperators checks each operator family on one key, including
// the cases a naive implementation gets wrong (absent keys, negation over
// several values, set qualifiers on empty sets, wrong-typed values).
func TestConditionOperators(t *testing.T) {
	absent := []string(nil)
	cases := []struct {
		name string
		op   string
		key  string
		pol  []string
		req  []string // nil: key absent
		want tri
	}{
		// String.
		{"StringEquals match", "StringEquals", "s3:x-amz-acl", []string{"private"}, []string{"private"}, tTrue},
		{"StringEquals is case-sensitive", "StringEquals", "s3:x-amz-acl", []string{"private"}, []string{"Private"}, tFalse},
		{"StringEquals any policy value", "StringEquals", "s3:x-amz-acl", []string{"a", "private"}, []string{"private"}, tTrue},
		{"StringEquals absent key is false", "StringEquals", "s3:x-amz-acl", []string{"private"}, absent, tFalse},
		{"StringEquals wildcards are literal", "StringEquals", "s3:prefix", []string{"home/*"}, []string{"home/x"}, tFalse},
		{"StringNotEquals absent key is true", "StringNotEquals", "s3:x-amz-acl", []string{"private"}, absent, tTrue},
		{"StringNotEquals is NOR over policy values", "StringNotEquals", "s3:x-amz-acl", []string{"a", "b"}, []string{"b"}, tFalse},
		{"StringNotEquals none equal", "StringNotEquals", "s3:x-amz-acl", []string{"a", "b"}, []string{"c"}, tTrue},
		{"StringEqualsIgnoreCase", "StringEqualsIgnoreCase", "aws:UserAgent", []string{"AWS-CLI"}, []string{"aws-cli"}, tTrue},
		{"StringNotEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "aws:UserAgent", []string{"AWS-CLI"}, []string{"aws-cli"}, tFalse},
		{"StringLike star", "StringLike", "s3:prefix", []string{"home/*"}, []string{"home/a/b"}, tTrue},
		{"StringLike star matches empty", "StringLike", "s3:prefix", []string{"home/*"}, []string{"home/"}, tTrue},
		{"StringLike question needs one char", "StringLike", "s3:prefix", []string{"v?"}, []string{"v"}, tFalse},
		{"StringLike question one rune", "StringLike", "s3:prefix", []string{"v?"}, []string{"vé"}, tTrue},
		{"StringLike anchored", "StringLike", "s3:prefix", []string{"home/*"}, []string{"x/home/a"}, tFalse},
		{"StringNotLike absent key is true", "StringNotLike", "s3:prefix", []string{"a*"}, absent, tTrue},
		{"StringLikeIfExists absent key is true", "StringLikeIfExists", "s3:prefix", []string{"a*"}, absent, tTrue},
		{"StringLikeIfExists present is tested", "StringLikeIfExists", "s3:prefix", []string{"a*"}, []string{"b"}, tFalse},
		{"StringNotEqualsIfExists present", "StringNotEqualsIfExists", "s3:x-amz-acl", []string{"private"}, []string{"private"}, tFalse},
		// Multi-valued request keys without a qualifier.
		{"positive op any request value", "StringEquals", "aws:TagKeys", []string{"a"}, []string{"b", "a"}, tTrue},
		{"negated op needs no request value to match", "StringNotEquals", "aws:TagKeys", []string{"a"}, []string{"b", "a"}, tFalse},
		// Set qualifiers.
		{"ForAllValues all in set", "ForAllValues:StringEquals", "aws:TagKeys", []string{"env", "cost"}, []string{"env"}, tTrue},
		{"ForAllValues one outside", "ForAllValues:StringEquals", "aws:TagKeys", []string{"env", "cost"}, []string{"env", "owner"}, tFalse},
		{"ForAllValues empty set is true", "ForAllValues:StringEquals", "aws:TagKeys", []string{"env"}, absent, tTrue},
		{"ForAnyValue empty set is false", "ForAnyValue:StringEquals", "aws:TagKeys", []string{"env"}, absent, tFalse},
		{"ForAnyValue one in set", "ForAnyValue:StringEquals", "aws:TagKeys", []string{"env"}, []string{"owner", "env"}, tTrue},
		{"ForAnyValueIfExists empty is true", "ForAnyValue:StringEqualsIfExists", "aws:TagKeys", []string{"env"}, absent, tTrue},
		{"ForAllValues negated", "ForAllValues:StringNotLike", "aws:TagKeys", []string{"aws:*"}, []string{"env", "aws:x"}, tFalse},
		{"ForAnyValue negated", "ForAnyValue:StringNotLike", "aws:TagKeys", []string{"aws:*"}, []string{"env", "aws:x"}, tTrue},
		{"ForAnyValue StringLike", "ForAnyValue:StringLike", "aws:TagKeys", []string{"key*"}, []string{"x", "keyA"}, tTrue},
		// Numeric.
		{"NumericLessThanEquals", "NumericLessThanEquals", "s3:max-keys", []string{"10"}, []string{"10"}, tTrue},
		{"NumericLessThan", "NumericLessThan", "s3:max-keys", []string{"10"}, []string{"10"}, tFalse},
		{"NumericGreaterThan float", "NumericGreaterThan", "s3:signatureAge", []string{"600000"}, []string{"600000.5"}, tTrue},
		{"NumericEquals 1e1", "NumericEquals", "s3:max-keys", []string{"1e1"}, []string{"10"}, tTrue},
		{"NumericNotEquals absent key is true", "NumericNotEquals", "s3:max-keys", []string{"10"}, absent, tTrue},
		{"Numeric wrong type fails closed", "NumericLessThan", "s3:max-keys", []string{"10"}, []string{"ten"}, tErr},
		{"Numeric negated wrong type fails closed", "NumericNotEquals", "s3:max-keys", []string{"10"}, []string{"ten"}, tErr},
		// Date.
		{"DateGreaterThan ISO", "DateGreaterThan", "aws:TokenIssueTime", []string{"2020-01-01T00:00:00Z"}, []string{"2020-01-01T00:00:01Z"}, tTrue},
		{"DateLessThan date only", "DateLessThan", "aws:TokenIssueTime", []string{"2020-01-02"}, []string{"2020-01-01T23:59:59Z"}, tTrue},
		{"DateEquals epoch vs ISO", "DateEquals", "aws:TokenIssueTime", []string{"1577836800"}, []string{"2020-01-01T00:00:00Z"}, tTrue},
		{"DateEquals offset", "DateEquals", "aws:TokenIssueTime", []string{"2020-01-01T02:00:00+02:00"}, []string{"2020-01-01T00:00:00Z"}, tTrue},
		{"Date wrong type fails closed", "DateLessThan", "aws:TokenIssueTime", []string{"2020-01-02"}, []string{"yesterday"}, tErr},
		// Bool.
		{"Bool case-insensitive", "Bool", "aws:SecureTransport", []string{"false"}, []string{"FALSE"}, tTrue},
		{"Bool mismatch", "Bool", "aws:SecureTransport", []string{"false"}, []string{"true"}, tFalse},
		{"Bool absent is false", "Bool", "aws:SecureTransport", []string{"false"}, absent, tFalse},
		{"BoolIfExists absent is true", "BoolIfExists", "aws:MultiFactorAuthPresent", []string{"false"}, absent, tTrue},
		{"Bool wrong type fails closed", "Bool", "aws:SecureTransport", []string{"true"}, []string{"1"}, tErr},
		// Binary.
		{"BinaryEquals", "BinaryEquals", "s3:x", []string{"aGVsbG8="}, []string{"aGVsbG8="}, tTrue},
		{"BinaryEquals mismatch", "BinaryEquals", "s3:x", []string{"aGVsbG8="}, []string{"d29ybGQ="}, tFalse},
		{"Binary wrong type fails closed", "BinaryEquals", "s3:x", []string{"aGVsbG8="}, []string{"%%"}, tErr},
		// IP.
		{"IpAddress v4 in range", "IpAddress", "aws:SourceIp", []string{"192.0.2.0/24"}, []string{"192.0.2.200"}, tTrue},
		{"IpAddress v4 outside", "IpAddress", "aws:SourceIp", []string{"192.0.2.0/24"}, []string{"192.0.3.1"}, tFalse},
		{"IpAddress single host", "IpAddress", "aws:SourceIp", []string{"203.0.113.7"}, []string{"203.0.113.7"}, tTrue},
		{"IpAddress host bits ignored", "IpAddress", "aws:SourceIp", []string{"192.0.2.77/24"}, []string{"192.0.2.1"}, tTrue},
		{"IpAddress v6", "IpAddress", "aws:SourceIp", []string{"2001:DB8:1234:5678::/64"}, []string{"2001:db8:1234:5678:abcd::1"}, tTrue},
		{"IpAddress v6 outside", "IpAddress", "aws:SourceIp", []string{"2001:DB8:1234:5678::/64"}, []string{"2001:db8:1234:5679::1"}, tFalse},
		{"IpAddress v4-mapped v6 request", "IpAddress", "aws:SourceIp", []string{"192.0.2.0/24"}, []string{"::ffff:192.0.2.9"}, tTrue},
		{"IpAddress v4 range never matches v6", "IpAddress", "aws:SourceIp", []string{"0.0.0.0/0"}, []string{"2001:db8::1"}, tFalse},
		{"NotIpAddress absent key is true", "NotIpAddress", "aws:SourceIp", []string{"192.0.2.0/24"}, absent, tTrue},
		{"NotIpAddress in range", "NotIpAddress", "aws:SourceIp", []string{"192.0.2.0/24", "2001:DB8::/32"}, []string{"2001:db8::5"}, tFalse},
		{"IP wrong type fails closed", "NotIpAddress", "aws:SourceIp", []string{"192.0.2.0/24"}, []string{"192.0.2.1:443"}, tErr},
		// ARN.
		{"ArnLike per part", "ArnLike", "aws:SourceArn", []string{"arn:aws:s3:::logs-*"}, []string{"arn:aws:s3:::logs-eu"}, tTrue},
		{"ArnEquals takes wildcards too", "ArnEquals", "aws:SourceArn", []string{"arn:aws:iam::*:role/r"}, []string{"arn:aws:iam::111122223333:role/r"}, tTrue},
		{"ArnLike wildcard stays in its part", "ArnLike", "aws:SourceArn", []string{"arn:aws:iam::*:role/r"}, []string{"arn:aws:iam:x:111122223333:role/r"}, tFalse},
		{"ArnNotLike", "ArnNotLike", "aws:SourceArn", []string{"arn:aws:s3:::logs-*"}, []string{"arn:aws:s3:::data"}, tTrue},
		{"ArnNotEquals absent key is true", "ArnNotEquals", "aws:SourceArn", []string{"arn:aws:s3:::x"}, absent, tTrue},
		{"ARN wrong type fails closed", "ArnLike", "aws:SourceArn", []string{"arn:aws:s3:::*"}, []string{"bucket"}, tErr},
		// Null.
		{"Null true when absent", "Null", "s3:x-amz-server-side-encryption", []string{"true"}, absent, tTrue},
		{"Null true when present", "Null", "s3:x-amz-server-side-encryption", []string{"true"}, []string{"AES256"}, tFalse},
		{"Null false when present", "Null", "aws:TagKeys", []string{"false"}, []string{"a"}, tTrue},
		{"Null false when absent", "Null", "aws:TagKeys", []string{"false"}, absent, tFalse},
		{"Null present with empty string", "Null", "s3:prefix", []string{"false"}, []string{""}, tTrue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc, err := compileCondition(Condition{Operator: c.op, Key: c.key, Values: c.pol}, true)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			r := Request{Principal: testUser("alice"), Time: t0}
			if c.req != nil {
				r.Context.Set(c.key, c.req...)
			}
			ec := newEvalCtx(&r)
			if got := cc.eval(&ec); got != c.want {
				t.Fatalf("%s %s %v on %v = %d, want %d", c.op, c.key, c.pol, c.req, got, c.want)
			}
		})
	}
}

// TestKeyLookup covers case-insensitive keys and the keys derived from the
// principal and the clock (which a caller's Context cannot override).
func TestKeyLookup(t *testing.T) {
	p := testUser("alice")
	p.Tags = map[string]string{"Department": "eng"}
	cases := []struct {
		name string
		op   string
		key  string
		val  string
		p    Principal
		ctx  []string
		want tri
	}{
		{"context key case-insensitive", "StringEquals", "S3:PREFIX", "a", p, []string{"s3:prefix", "a"}, tTrue},
		{"username", "StringEquals", "aws:username", "alice", p, nil, tTrue},
		{"username not overridable", "StringEquals", "aws:username", "mallory", p, []string{"aws:username", "mallory"}, tFalse},
		{"username absent for sessions", "Null", "aws:username", "true", testSession("R", "s"), nil, tTrue},
		{"userid", "StringEquals", "aws:userid", "AIDAALICE", p, nil, tTrue},
		{"principal type", "StringEquals", "aws:PrincipalType", "User", p, nil, tTrue},
		{"principal type anonymous", "StringEquals", "aws:PrincipalType", "Anonymous", Principal{}, nil, tTrue},
		{"principal arn of a session is the role", "ArnEquals", "aws:PrincipalArn", "arn:aws:iam::" + acct + ":role/R", testSession("R", "s"), nil, tTrue},
		{"principal account", "StringEquals", "aws:PrincipalAccount", acct, p, nil, tTrue},
		{"principal tag key case-insensitive", "StringEquals", "aws:PrincipalTag/department", "eng", p, nil, tTrue},
		{"principal tag value case-sensitive", "StringEquals", "aws:PrincipalTag/Department", "Eng", p, nil, tFalse},
		{"current time", "DateGreaterThan", "aws:CurrentTime", "2020-05-15T11:59:59Z", p, nil, tTrue},
		{"current time as string", "StringLike", "aws:CurrentTime", "2020-05-15T*", p, nil, tTrue},
		{"epoch time numeric", "NumericEquals", "aws:EpochTime", "1589544000", p, nil, tTrue},
		{"epoch time as date", "DateLessThan", "aws:EpochTime", "1589544001", p, nil, tTrue},
		{"IgnoreCase with a variable", "StringEqualsIgnoreCase", "s3:prefix", "${aws:username}", p, []string{"s3:prefix", "ALICE"}, tTrue},
		{"IgnoreCase with an unresolved variable", "StringEqualsIgnoreCase", "s3:prefix", "${aws:PrincipalTag/none}", p, []string{"s3:prefix", ""}, tFalse},
		{"IgnoreCase negated, unresolved matches nothing", "StringNotEqualsIgnoreCase", "s3:prefix", "${aws:PrincipalTag/none}", p, []string{"s3:prefix", "x"}, tTrue},
		{"Bool with a variable", "Bool", "aws:SecureTransport", "${s3:x-want-tls}", p, []string{"aws:SecureTransport", "true", "s3:x-want-tls", "TRUE"}, tTrue},
		{"Bool variable not a bool", "Bool", "aws:SecureTransport", "${s3:x-want-tls}", p, []string{"aws:SecureTransport", "true", "s3:x-want-tls", "yes"}, tFalse},
		{"Arn with a variable", "ArnEquals", "aws:SourceArn", "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}", p, []string{"aws:SourceArn", "arn:aws:iam::" + acct + ":user/alice"}, tTrue},
		{"time not overridable", "DateLessThan", "aws:CurrentTime", "2000-01-01", p, []string{"aws:CurrentTime", "1999-01-01T00:00:00Z"}, tFalse},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc, err := compileCondition(Condition{Operator: c.op, Key: c.key, Values: []string{c.val}}, true)
			if err != nil {
				t.Fatal(err)
			}
			r := rq(c.p, "s3:GetObject", "arn:aws:s3:::b/k", c.ctx...)
			ec := newEvalCtx(&r)
			if got := cc.eval(&ec); got != c.want {
				t.Fatalf("= %d, want %d", got, c.want)
			}
		})
	}
	var c Context
	c.Set("S3:Prefix", "a", "b")
	if v, ok := c.Values("s3:PREFIX"); !ok || len(v) != 2 {
		t.Errorf("Values = %v, %v", v, ok)
	}
	c.Set("s3:prefix")
	if _, ok := c.Values("s3:prefix"); ok {
		t.Error("Set with no values should remove the key")
	}
	r := Request{Principal: p}
	cc, _ := compileCondition(Condition{Operator: "Null", Key: "aws:CurrentTime", Values: []string{"true"}}, true)
	if ec := newEvalCtx(&r); cc.eval(&ec) != tTrue {
		t.Error("zero Request.Time should leave aws:CurrentTime absent")
	}
}
