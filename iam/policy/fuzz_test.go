package policy

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse: the parser never panics, refuses only with an *Error, and a
// policy it accepts marshals to JSON that parses back to the same
// Document. Accepted policies are also evaluated, which must not panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{homeFolders, homeFolders2008, ipFence, tlsOnly, mfaDenyIfExists, dateWindow, tagKeysAllNonEmpty,
		notPrincipalBob, notPrincipalSession, allButIAM, onlyOneBucket, requireSSE, crossAccountUpload, maxKeys, teamFolders,
		adminsOnly, publicRead, refererOnly, signatureRules, grantSession, literalStar,
		`{"Statement":{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::${aws:username, 'a''b'}${*}","Condition":{"ForAnyValue:ArnLikeIfExists":{"aws:SourceArn":"arn:aws:*:*:${aws:PrincipalAccount}:*"},"BinaryEquals":{"s3:x":"AA=="}}}]}`,
		`{"Version":"2012-10-17","Statement":[]}`, `{"Statement":{"Effect":"Allow","Effect":"Deny"}}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	reqs := []Request{
		rq(testUser("alice"), "s3:GetObject", "arn:aws:s3:::corp-bucket/home/alice/x", "aws:SourceIp", "192.0.2.1", "s3:prefix", "home/"),
		with(rq(testSession("Writer", "job-7"), "sts:AssumeRole", "not an arn", "aws:SecureTransport", "maybe"), "aws:TagKeys", "a", "b"),
		rq(Principal{Type: PrincipalWebIdentity, Provider: "accounts.google.com"}, "sts:AssumeRoleWithWebIdentity", ""),
		rq(Principal{}, "s3:GetObject", "arn:aws:s3:::b/k", "s3:max-keys", "x", "aws:SourceArn", "arn:aws:s3:::b"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{KindIdentity, KindResource, KindTrust} {
			p, err := Parse(data, kind)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Kind == nil || pe.Error() == "" {
					t.Fatalf("Parse error %T %v is not a complete *Error", err, err)
				}
				continue
			}
			out, err := p.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			q, err := Parse(out, kind)
			if err != nil {
				t.Fatalf("re-parse of %s: %v", out, err)
			}
			if !reflect.DeepEqual(p.Document(), q.Document()) {
				t.Fatalf("round trip changed the document\nin:  %q\nout: %s", data, out)
			}
			for _, r := range reqs {
				p.Evaluate(r)
				Decide(r, PolicySets{Identity: []Named{{Policy: p}}, Session: []Named{{Policy: p}}, Resource: []Named{{Policy: p}}})
			}
		}
	})
}
