package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stmt wraps statement bodies into a 2012-10-17 document.
func stmt(bodies ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(bodies, ",") + `]}`
}

func TestParseRefusesInvalidPolicies(t *testing.T) {
	const okID = `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`
	const okRes = `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`
	cases := []struct {
		name string
		kind Kind
		doc  string
		want error
		msg  string // substring of Error()
	}{
		{"not JSON", KindIdentity, `{"Version":`, ErrSyntax, ""},
		{"trailing data", KindIdentity, stmt(okID) + `{}`, ErrSyntax, "after"},
		{"not an object", KindIdentity, `[1]`, ErrSyntax, ""},
		{"invalid UTF-8", KindResource, "{\"Statement\":[{\"Sid\":\"\xff\"}]}", ErrSyntax, "UTF-8"},
		{"duplicate member", KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}]}`, ErrSyntax, "duplicate"},
		{"duplicate member nested", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true","aws:SecureTransport":"false"}}}`), ErrSyntax, "duplicate"},
		{"unknown top element", KindIdentity, `{"Version":"2012-10-17","Statment":[]}`, ErrUnknownElement, "Statment"},
		{"element names are case-sensitive", KindIdentity, stmt(`{"effect":"Allow","Action":"*","Resource":"*"}`), ErrUnknownElement, "effect"},
		{"unknown version", KindIdentity, `{"Version":"2012-10-18","Statement":` + okID + `}`, ErrUnknownVersion, "2012-10-18"},
		{"no Statement", KindIdentity, `{"Version":"2012-10-17"}`, ErrNoStatement, ""},
		{"empty Statement", KindIdentity, `{"Version":"2012-10-17","Statement":[]}`, ErrNoStatement, ""},
		{"Statement of wrong type", KindIdentity, `{"Version":"2012-10-17","Statement":"x"}`, ErrSyntax, ""},
		{"bad Effect", KindIdentity, stmt(`{"Effect":"allow","Action":"*","Resource":"*"}`), ErrBadEffect, `"allow"`},
		{"missing Effect", KindIdentity, stmt(`{"Action":"*","Resource":"*"}`), ErrBadEffect, ""},
		{"missing Action", KindIdentity, stmt(`{"Effect":"Allow","Resource":"*"}`), ErrMissingAction, ""},
		{"empty Action list", KindIdentity, stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), ErrMissingAction, ""},
		{"Action and NotAction", KindIdentity, stmt(`{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}`), ErrConflictingElements, "NotAction"},
		{"action without vendor", KindIdentity, stmt(`{"Effect":"Allow","Action":"GetObject","Resource":"*"}`), ErrBadAction, "GetObject"},
		{"action not a string", KindIdentity, stmt(`{"Effect":"Allow","Action":[1],"Resource":"*"}`), ErrSyntax, "Action"},
		{"missing Resource", KindIdentity, stmt(`{"Effect":"Allow","Action":"*"}`), ErrMissingResource, ""},
		{"Resource and NotResource", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"arn:aws:s3:::b"}`), ErrConflictingElements, "NotResource"},
		{"malformed ARN", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:bucket"}`), ErrBadARN, "arn:aws:s3:bucket"},
		{"ARN without service", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws::::x"}`), ErrBadARN, ""},
		{"resource not an ARN", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"bucket/*"}`), ErrBadARN, ""},
		{"identity policy with Principal", KindIdentity, stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), ErrElementNotAllowed, "Principal"},
		{"bucket policy without Principal", KindResource, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}`), ErrMissingPrincipal, ""},
		{"Principal and NotPrincipal", KindResource, stmt(`{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}`), ErrConflictingElements, ""},
		{"NotPrincipal with Allow", KindResource, stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}`), ErrElementNotAllowed, "Deny"},
		{"string principal other than *", KindResource, stmt(`{"Effect":"Allow","Principal":"111122223333","Action":"s3:*","Resource":"*"}`), ErrBadPrincipal, ""},
		{"unknown principal type", KindResource, stmt(`{"Effect":"Allow","Principal":{"User":"x"},"Action":"s3:*","Resource":"*"}`), ErrBadPrincipal, ""},
		{"empty principal object", KindResource, stmt(`{"Effect":"Allow","Principal":{},"Action":"s3:*","Resource":"*"}`), ErrBadPrincipal, ""},
		{"partial wildcard principal", KindResource, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"s3:*","Resource":"*"}`), ErrBadPrincipal, "user/*"},
		{"principal ARN of a group", KindResource, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:group/admins"},"Action":"s3:*","Resource":"*"}`), ErrBadPrincipal, ""},
		{"principal bad account", KindResource, stmt(`{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"s3:*","Resource":"*"}`), ErrBadPrincipal, ""},
		{"trust policy with Resource", KindTrust, stmt(`{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}`), ErrElementNotAllowed, "Resource"},
		{"trust policy with NotPrincipal", KindTrust, stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`), ErrElementNotAllowed, "NotPrincipal"},
		{"IAM Sid not alphanumeric", KindIdentity, stmt(`{"Sid":"read-all","Effect":"Allow","Action":"*","Resource":"*"}`), ErrBadSid, "read-all"},
		{"duplicate Sid", KindResource, stmt(okRes[:1]+`"Sid":"a",`+okRes[1:], okRes[:1]+`"Sid":"a",`+okRes[1:]), ErrDuplicateSid, `statement 1 ("a")`},
		{"IAM character set", KindIdentity, stmt(`{"Sid":"x","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/中"}`), ErrBadCharacter, ""},
		{"IAM character set, escaped", KindIdentity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/\u4e2d"}`), ErrBadCharacter, ""},
		{"IAM character set, control", KindTrust, stmt(`{"Sid":"a\u0001","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), ErrBadCharacter, `("a\x01")`},
		{"unknown operator", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}`), ErrUnknownOperator, "StringEqualz"},
		{"operator names are case-sensitive", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"stringequals":{"aws:username":"a"}}}`), ErrUnknownOperator, ""},
		{"Null with IfExists", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}`), ErrUnknownOperator, ""},
		{"set qualifier misspelt", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValue:StringEquals":{"aws:TagKeys":"a"}}}`), ErrUnknownOperator, ""},
		{"condition key without vendor", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}`), ErrBadConditionKey, "username"},
		{"operator with no keys", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}`), ErrBadConditionKey, ""},
		{"empty value list", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}`), ErrBadConditionValue, ""},
		{"object as value", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}`), ErrBadConditionValue, ""},
		{"invalid CIDR", KindResource, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/33"}}}`), ErrBadConditionValue, "invalid CIDR"},
		{"invalid IPv6 CIDR", KindResource, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"2001:db8::/129"}}}`), ErrBadConditionValue, "invalid CIDR"},
		{"not a number", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}`), ErrBadConditionValue, "not a number"},
		{"NaN is not a number", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"NaN"}}}`), ErrBadConditionValue, ""},
		{"not a date", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}`), ErrBadConditionValue, "date"},
		{"variables not in dates", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}}`), ErrBadConditionValue, ""},
		{"not a bool", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), ErrBadConditionValue, ""},
		{"Null value not a bool", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:TagKeys":"absent"}}}`), ErrBadConditionValue, ""},
		{"not base64", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"BinaryEquals":{"s3:x":"%%"}}}`), ErrBadConditionValue, "base64"},
		{"ARN condition not an ARN", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"role/x"}}}`), ErrBadARN, ""},
		{"Condition not an object", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":"x"}`), ErrSyntax, "Condition"},
		{"operator block not an object", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":["a"]}}`), ErrSyntax, "Condition"},
		{"bad variable in condition", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":"${aws:username"}}}`), ErrBadVariable, "Condition"},
		{"bad variable in Bool", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"${x}"}}}`), ErrBadVariable, ""},
		{"bad variable in ARN condition", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::${"}}}`), ErrBadVariable, ""},
		{"unterminated variable", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username"}`), ErrBadVariable, ""},
		{"variable without key", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${}"}`), ErrBadVariable, ""},
		{"default not quoted", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username, x}"}`), ErrBadVariable, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc), c.kind)
			if !errors.Is(err, c.want) {
				t.Fatalf("Parse = %v, want %v", err, c.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("message %q does not mention %q", err.Error(), c.msg)
			}
		})
	}
}

func TestParseAcceptsAWSForms(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		doc  string
	}{
		{"single statement object, no Version", KindIdentity, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`},
		{"Version 2008", KindIdentity, `{"Version":"2008-10-17","Id":"x","Statement":[{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b"}]}`},
		{"number and bool condition values", KindIdentity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}`)},
		{"bucket policy Sid with hyphen", KindResource, stmt(`{"Sid":"deny-deletes","Effect":"Deny","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a/b","arn:aws:sts::111122223333:assumed-role/R/s","arn:aws:sts::111122223333:federated-user/f"]},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}`)},
		{"CanonicalUser and Service principals", KindResource, stmt(`{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be","Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}`)},
		{"web identity trust policy", KindTrust, stmt(`{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"client-1"}}}`)},
		{"all operator families", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"StringEqualsIgnoreCase":{"aws:UserAgent":"x"},"ForAnyValue:StringNotLikeIfExists":{"aws:TagKeys":"a*"},
			"NumericGreaterThanEquals":{"s3:signatureAge":"1.5"},"DateNotEqualsIfExists":{"aws:EpochTime":"1700000000"},
			"BinaryEquals":{"s3:x":"aGVsbG8="},"IpAddress":{"aws:SourceIp":["203.0.113.7","2001:DB8::/32"]},
			"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/${aws:username}"},"Null":{"s3:prefix":false},
			"ForAllValues:ArnEquals":{"aws:x":"*"}}}`)},
		{"bucket policies may use any character", KindResource, stmt(`{"Sid":"中文","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/中/*"}`)},
		{"variables with default and escapes", KindIdentity, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b-${aws:PrincipalTag/team, 'it''s'}/${*}${?}${$}"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.doc), c.kind)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			roundTrip(t, p, c.kind)
		})
	}
}

// roundTrip checks that the marshalled policy parses to the same document.
func roundTrip(t *testing.T, p *Policy, kind Kind) {
	t.Helper()
	out, err := p.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	q, err := Parse(out, kind)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", out, err)
	}
	if !reflect.DeepEqual(p.Document(), q.Document()) {
		t.Fatalf("round trip changed the document:\n%#v\n%#v", p.Document(), q.Document())
	}
}

func TestDocumentIsCopied(t *testing.T) {
	p, err := Parse([]byte(stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)), KindIdentity)
	if err != nil {
		t.Fatal(err)
	}
	d := p.Document()
	d.Statement[0].Action[0] = "s3:*"
	if got := p.Document().Statement[0].Action[0]; got != "s3:GetObject" {
		t.Fatalf("changing a returned Document changed the policy: %q", got)
	}
	r := Request{Principal: testUser("alice"), Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}
	if got := p.Evaluate(r).Effect; got != "" {
		t.Fatalf("Evaluate = %q after mutation of a copy, want no match", got)
	}
}

func TestCompileBuiltDocument(t *testing.T) {
	doc := Document{Version: Version2012, Statement: []Statement{{
		Effect: Allow, Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::b/*"},
		Condition: []Condition{{Operator: "StringEquals", Key: "s3:VersionId", Values: []string{"v1"}}, {Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}}},
	}}}
	p, err := Compile(doc, KindIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Document().Statement[0].Condition[0].Operator; got != "Bool" {
		t.Errorf("conditions not sorted: first is %q", got)
	}
	roundTrip(t, p, KindIdentity)
	dup := doc.clone()
	dup.Statement[0].Condition = append(dup.Statement[0].Condition, dup.Statement[0].Condition[0])
	if _, err := Compile(dup, KindIdentity); !errors.Is(err, ErrBadConditionKey) {
		t.Errorf("Compile with a repeated operator and key = %v", err)
	}
	mixed := Document{Statement: []Statement{{Effect: Deny, Principal: &Principals{Wildcard: true, AWS: []string{acct}}, Action: []string{"*"}, Resource: []string{"*"}}}}
	if _, err := Compile(mixed, KindResource); !errors.Is(err, ErrBadPrincipal) {
		t.Errorf("Compile with * and a list = %v", err)
	}
	if _, err := Compile(doc, Kind(0)); !errors.Is(err, ErrSyntax) {
		t.Errorf("Compile with no kind = %v", err)
	}
}

func TestIAMSize(t *testing.T) {
	cases := []struct {
		doc  string
		want int
	}{
		{`{ "a" : "b c" }`, 11},
		{"{\n\t\"Version\": \"2012-10-17\"\n}", 24},
		{`{"k":"é \" x"}`, 14},
	}
	for _, c := range cases {
		if got := IAMSize([]byte(c.doc)); got != c.want {
			t.Errorf("IAMSize(%q) = %d, want %d", c.doc, got, c.want)
		}
	}
}

func TestParseARN(t *testing.T) {
	a, err := ParseARN("arn:aws:s3:::bucket/a:b/c")
	if err != nil || a.Service != "s3" || a.Region != "" || a.Account != "" || a.Resource != "bucket/a:b/c" {
		t.Fatalf("ParseARN = %+v, %v", a, err)
	}
	if a.String() != "arn:aws:s3:::bucket/a:b/c" {
		t.Errorf("String = %q", a.String())
	}
	for _, bad := range []string{"", "arn:aws:s3", "arn:aws:s3:::", "urn:aws:s3:::b", "arn::s3:::b", "arn:aws::::b"} {
		if _, err := ParseARN(bad); err == nil {
			t.Errorf("ParseARN(%q) accepted", bad)
		}
	}
	if S3ObjectARN("b", "k/1") != "arn:aws:s3:::b/k/1" || S3BucketARN("b") != "arn:aws:s3:::b" {
		t.Error("S3 ARN helpers")
	}
}

func TestMatchARN(t *testing.T) {
	cases := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "anything", true},
		{"arn:aws:s3:::*", "arn:aws:s3:::b/k:with:colons", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b*", "arn:aws:s3:::b/k", true},
		{"arn:aws:iam::*:user/*", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::*:user/*", "arn:aws:sts::111122223333:assumed-role/r/s", false},
		// A wildcard stays within its part: the region * cannot eat the account.
		{"arn:aws:s3:*:b", "arn:aws:s3:::b", false},
		{"arn:aws:*:::b", "arn:aws:s3:::b", true},
		{"arn:aws:s3:::B", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b?", "arn:aws:s3:::b1", true},
		{"arn:aws:s3:::b?", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b", "not-an-arn", false},
	}
	for _, c := range cases {
		if got := MatchARN(c.pattern, c.arn); got != c.want {
			t.Errorf("MatchARN(%q, %q) = %v, want %v", c.pattern, c.arn, got, c.want)
		}
	}
}
