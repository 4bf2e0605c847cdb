package iam

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestCreateUser(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, CreateUserInput{Name: "Alice", Path: "/eng/", Tags: []Tag{{"team", "storage"}}})
	ok(t, err)
	acct := s.Account().ID
	if u.ARN != "arn:aws:iam::"+acct+":user/eng/Alice" || u.Path != "/eng/" || !u.Enabled || len(u.Tags) != 1 {
		t.Fatalf("user = %+v", u)
	}
	if !regexp.MustCompile(`^AIDA[A-Z0-9]{17}$`).MatchString(u.UserID) {
		t.Fatalf("user id %q is not AWS-shaped", u.UserID)
	}
	got, err := s.GetUser(ctx, "alice") // names ignore case
	ok(t, err)
	if got.Name != "Alice" || got.UserID != u.UserID || !got.Created.Equal(u.Created) {
		t.Fatalf("GetUser = %+v; want %+v", got, u)
	}

	tests := []struct {
		name string
		in   CreateUserInput
		kind error
	}{
		{"duplicate ignoring case", CreateUserInput{Name: "ALICE"}, ErrEntityAlreadyExists},
		{"empty name", CreateUserInput{Name: ""}, ErrValidation},
		{"bad character", CreateUserInput{Name: "bob smith"}, ErrValidation},
		{"slash", CreateUserInput{Name: "a/b"}, ErrValidation},
		{"too long", CreateUserInput{Name: strings.Repeat("a", 65)}, ErrValidation},
		{"path without slashes", CreateUserInput{Name: "bob", Path: "eng"}, ErrValidation},
		{"path with space", CreateUserInput{Name: "bob", Path: "/a b/"}, ErrValidation},
		{"reserved tag", CreateUserInput{Name: "bob", Tags: []Tag{{"aws:x", "y"}}}, ErrInvalidInput},
		{"duplicate tag keys", CreateUserInput{Name: "bob", Tags: []Tag{{"a", "1"}, {"A", "2"}}}, ErrInvalidInput},
		{"too many tags", CreateUserInput{Name: "bob", Tags: manyTags(51)}, ErrLimitExceeded},
		{"bad tag character", CreateUserInput{Name: "bob", Tags: []Tag{{"a", "x;y"}}}, ErrValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, tc.in)
			wantKind(t, err, tc.kind)
		})
	}
	if _, err := s.GetUser(ctx, "bob"); err == nil {
		t.Fatal("a refused CreateUser created the user")
	}
	_, err = s.GetUser(ctx, "nobody")
	wantKind(t, err, ErrNoSuchEntity)
	if err.Error() != "The user with name nobody cannot be found." {
		t.Fatalf("message %q", err)
	}
}

func manyTags(n int) []Tag {
	out := make([]Tag, n)
	for i := range out {
		out[i] = Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
	}
	return out
}

func TestListUsersPagesAndPaths(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	for _, u := range []struct{ name, path string }{{"dave", "/ops/"}, {"Carol", "/eng/"}, {"bob", "/eng/"}, {"alice", "/"}} {
		must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: u.name, Path: u.path}))
	}
	names := func(us []User) string {
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return strings.Join(out, ",")
	}
	page, next, err := s.ListUsers(ctx, ListOptions{MaxItems: 3})
	ok(t, err)
	if names(page) != "alice,bob,Carol" || next == "" {
		t.Fatalf("page 1 = %s next %q", names(page), next)
	}
	page, next, err = s.ListUsers(ctx, ListOptions{MaxItems: 3, Marker: next})
	ok(t, err)
	if names(page) != "dave" || next != "" {
		t.Fatalf("page 2 = %s next %q", names(page), next)
	}
	page, _, err = s.ListUsers(ctx, ListOptions{PathPrefix: "/eng/"})
	ok(t, err)
	if names(page) != "bob,Carol" {
		t.Fatalf("/eng/ = %s", names(page))
	}
	_, _, err = s.ListUsers(ctx, ListOptions{MaxItems: 1001})
	wantKind(t, err, ErrValidation)
}

func TestDeleteUserConflicts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(t *testing.T, s *Service)
		message string
	}{
		{"access key", func(t *testing.T, s *Service) { must[AccessKey](t)(s.CreateAccessKey(ctx, "u")) },
			"Cannot delete entity, must delete access keys first."},
		{"login profile", func(t *testing.T, s *Service) {
			must[LoginProfile](t)(s.CreateLoginProfile(ctx, "u", "Passw0rd!x", false))
		}, "Cannot delete entity, must delete login profile first."},
		{"inline policy", func(t *testing.T, s *Service) { ok(t, s.PutInlinePolicy(ctx, UserEntity("u"), "p", allowAllS3)) },
			"Cannot delete entity, must delete policies first."},
		{"attached policy", func(t *testing.T, s *Service) {
			p := must[ManagedPolicy](t)(s.CreatePolicy(ctx, CreatePolicyInput{Name: "p", Document: allowAllS3}))
			ok(t, s.AttachPolicy(ctx, UserEntity("u"), p.ARN))
		}, "Cannot delete entity, must detach all policies first."},
		{"group", func(t *testing.T, s *Service) {
			must[Group](t)(s.CreateGroup(ctx, "g", ""))
			ok(t, s.AddUserToGroup(ctx, "g", "u"))
		}, "Cannot delete entity, must remove users from group first."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newTestService(t)
			must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u"}))
			tc.setup(t, s)
			err := s.DeleteUser(ctx, "u")
			wantKind(t, err, ErrDeleteConflict)
			if err.Error() != tc.message {
				t.Fatalf("message %q; want %q", err, tc.message)
			}
			must[User](t)(s.GetUser(ctx, "u"))
		})
	}
	s, _, _ := newTestService(t)
	wantKind(t, s.DeleteUser(ctx, "ghost"), ErrNoSuchEntity)
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u"}))
	ok(t, s.DeleteUser(ctx, "U"))
	_, err := s.GetUser(ctx, "u")
	wantKind(t, err, ErrNoSuchEntity)
}

func TestUserTagsAndPath(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u", Tags: []Tag{{"a", "1"}}}))
	ok(t, s.TagEntity(ctx, UserEntity("u"), []Tag{{"A", "2"}, {"b", "3"}}))
	tags := must[[]Tag](t)(s.ListEntityTags(ctx, UserEntity("u")))
	if len(tags) != 2 || tags[0] != (Tag{"A", "2"}) || tags[1] != (Tag{"b", "3"}) {
		t.Fatalf("tags %v", tags)
	}
	ok(t, s.UntagEntity(ctx, UserEntity("u"), []string{"a"}))
	tags = must[[]Tag](t)(s.ListEntityTags(ctx, UserEntity("u")))
	if len(tags) != 1 || tags[0].Key != "b" {
		t.Fatalf("tags after untag %v", tags)
	}
	wantKind(t, s.TagEntity(ctx, UserEntity("u"), manyTags(50)), ErrLimitExceeded)
	wantKind(t, s.TagEntity(ctx, GroupEntity("u"), []Tag{{"a", "b"}}), ErrNoSuchEntity)
	ok(t, s.UpdateUser(ctx, "u", "/new/"))
	u := must[User](t)(s.GetUser(ctx, "u"))
	if u.Path != "/new/" || !strings.HasSuffix(u.ARN, ":user/new/u") {
		t.Fatalf("after UpdateUser: %+v", u)
	}
	wantKind(t, s.UpdateUser(ctx, "u", "bad"), ErrValidation)
}
