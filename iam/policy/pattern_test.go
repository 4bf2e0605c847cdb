package policy

import (
	"strings"
	"testing"
	"time"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"*", "anything/at/all", true},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxcxxbxxaxx", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"??", "éü", true},
		{"*?", "", false},
		{"*.txt", "notes.txt", true},
		{"*.txt", "notes.txt.bak", false},
		{"ab*ab", "abab", true},
		{"ab*ab", "aba", false},
		{"**a**", "a", true},
	}
	for _, c := range cases {
		p, err := newPattern(c.pat, false, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(c.s, nil); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

// A pattern with many stars against a long near-miss must not take
// exponential time (policies are hostile input; keys are up to 1 KiB).
func TestGlobIsNotExponential(t *testing.T) {
	pat := strings.Repeat("*a", 200) + "*b"
	s := strings.Repeat("a", 1024)
	p, _ := newPattern(pat, false, true, false)
	start := time.Now()
	if p.match(s, nil) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("match took %v", d)
	}
}

func TestActionsFoldASCII(t *testing.T) {
	p, _ := newPattern("S3:get*", false, true, true)
	for s, want := range map[string]bool{"s3:GetObject": true, "S3:GETOBJECTACL": true, "s3:PutObject": false} {
		if got := p.match(s, nil); got != want {
			t.Errorf("match(%q) = %v", s, got)
		}
	}
}

func TestVariables(t *testing.T) {
	alice := testUser("alice")
	alice.Tags = map[string]string{"team": "blue"}
	cases := []struct {
		name string
		pat  string
		vars bool
		p    Principal
		ctx  []string
		s    string
		want bool
	}{
		{"username", "home/${aws:username}/*", true, alice, nil, "home/alice/x", true},
		{"other user", "home/${aws:username}/*", true, alice, nil, "home/bob/x", false},
		{"key names case-insensitive", "home/${AWS:UserName}/*", true, alice, nil, "home/alice/x", true},
		{"unresolved matches nothing", "home/${aws:username}/*", true, testSession("R", "s"), nil, "home//x", false},
		{"default when absent", "b-${aws:PrincipalTag/project, 'shared'}", true, alice, nil, "b-shared", true},
		{"default not used when present", "b-${aws:PrincipalTag/team, 'shared'}", true, alice, nil, "b-shared", false},
		{"tag value", "b-${aws:PrincipalTag/team, 'shared'}", true, alice, nil, "b-blue", true},
		{"default with quote", "${s3:prefix, 'it''s'}", true, alice, nil, "it's", true},
		{"default spaces trimmed", "${ s3:prefix ,  'x' }", true, alice, nil, "x", true},
		{"request key", "${s3:prefix}*", true, alice, []string{"s3:prefix", "docs/"}, "docs/a", true},
		{"substituted text is literal", "${s3:prefix}", true, alice, []string{"s3:prefix", "a*"}, "abc", false},
		{"substituted star matches itself", "${s3:prefix}", true, alice, []string{"s3:prefix", "a*"}, "a*", true},
		{"escape star", "a${*}b", true, alice, nil, "a*b", true},
		{"escape star is not a wildcard", "a${*}b", true, alice, nil, "axb", false},
		{"escape question", "a${?}", true, alice, nil, "a?", true},
		{"escape dollar", "${$}{x}", true, alice, nil, "${x}", true},
		{"2008: variables literal", "home/${aws:username}/*", false, alice, nil, "home/alice/x", false},
		{"2008: literal text matches", "home/${aws:username}/*", false, alice, nil, "home/${aws:username}/x", true},
		{"time variable", "${aws:EpochTime}", true, alice, nil, "1589544000", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := newPattern(c.pat, c.vars, true, false)
			if err != nil {
				t.Fatal(err)
			}
			r := rq(c.p, "s3:GetObject", "", c.ctx...)
			ec := newEvalCtx(&r)
			if got := p.match(c.s, &ec); got != c.want {
				t.Fatalf("match(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
			}
		})
	}
}

func TestMultiValuedKeyIsNotAVariable(t *testing.T) {
	p, _ := newPattern("${aws:TagKeys}", true, true, false)
	r := with(rq(testUser("a"), "s3:GetObject", ""), "aws:TagKeys", "x", "y")
	ec := newEvalCtx(&r)
	if p.match("x", &ec) {
		t.Fatal("a multi-valued key was substituted")
	}
}
