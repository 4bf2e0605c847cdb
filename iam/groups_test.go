package iam

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

func TestGroups(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	g := must[Group](t)(s.CreateGroup(ctx, "Admins", "/ops/"))
	if g.ARN != "arn:aws:iam::"+s.Account().ID+":group/ops/Admins" || len(g.GroupID) != 21 || g.GroupID[:4] != "AGPA" {
		t.Fatalf("group %+v", g)
	}
	_, err := s.CreateGroup(ctx, "admins", "")
	wantKind(t, err, ErrEntityAlreadyExists)
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u1"}))
	must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: "u2"}))
	ok(t, s.AddUserToGroup(ctx, "admins", "U1"))
	ok(t, s.AddUserToGroup(ctx, "Admins", "u2"))
	ok(t, s.AddUserToGroup(ctx, "Admins", "u2")) // already a member: no-op
	wantKind(t, s.AddUserToGroup(ctx, "nope", "u2"), ErrNoSuchEntity)
	wantKind(t, s.AddUserToGroup(ctx, "Admins", "nope"), ErrNoSuchEntity)

	_, members, err := s.GetGroup(ctx, "admins")
	ok(t, err)
	if len(members) != 2 || members[0].Name != "u1" || members[1].Name != "u2" {
		t.Fatalf("members %+v", members)
	}
	gs := must[[]Group](t)(s.ListGroupsForUser(ctx, "u1"))
	if len(gs) != 1 || gs[0].Name != "Admins" {
		t.Fatalf("groups for u1 %+v", gs)
	}
	err = s.DeleteGroup(ctx, "Admins")
	wantKind(t, err, ErrDeleteConflict)
	ok(t, s.RemoveUserFromGroup(ctx, "Admins", "u1"))
	wantKind(t, s.RemoveUserFromGroup(ctx, "Admins", "u1"), ErrNoSuchEntity)
	ok(t, s.RemoveUserFromGroup(ctx, "Admins", "u2"))
	ok(t, s.PutInlinePolicy(ctx, GroupEntity("Admins"), "p", allowAllS3))
	wantKind(t, s.DeleteGroup(ctx, "Admins"), ErrDeleteConflict)
	ok(t, s.DeleteInlinePolicy(ctx, GroupEntity("Admins"), "p"))
	ok(t, s.DeleteGroup(ctx, "Admins"))
	_, _, err = s.GetGroup(ctx, "Admins")
	wantKind(t, err, ErrNoSuchEntity)
	ok(t, s.DeleteUser(ctx, "u1")) // no memberships left

	for i := 0; i < maxGroupsPerUser; i++ {
		must[Group](t)(s.CreateGroup(ctx, fmt.Sprint("g", i), ""))
		ok(t, s.AddUserToGroup(ctx, fmt.Sprint("g", i), "u2"))
	}
	must[Group](t)(s.CreateGroup(ctx, "one-too-many", ""))
	wantKind(t, s.AddUserToGroup(ctx, "one-too-many", "u2"), ErrLimitExceeded)
	list, _, err := s.ListGroups(ctx, ListOptions{})
	ok(t, err)
	if len(list) != maxGroupsPerUser+1 {
		t.Fatalf("ListGroups: %d groups", len(list))
	}
}

// A group deleted while a user is being added never leaves a member in a
// group that does not exist: one of the two wins.
func TestAddUserToGroupRacesDeleteGroup(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		name := fmt.Sprint("g", i)
		must[Group](t)(s.CreateGroup(ctx, name, ""))
		user := fmt.Sprint("u", i)
		must[User](t)(s.CreateUser(ctx, CreateUserInput{Name: user}))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); s.AddUserToGroup(ctx, name, user) }()
		go func() { defer wg.Done(); s.DeleteGroup(ctx, name) }()
		wg.Wait()
		gs, err := s.ListGroupsForUser(ctx, user)
		if err != nil {
			t.Fatalf("user %s lists a group that is gone: %v", user, err)
		}
		_, _, gerr := s.GetGroup(ctx, name)
		// Either the add won (the group stays, with the member) or the
		// delete did (no group, no membership).
		if exists := gerr == nil; exists != (len(gs) == 1) {
			t.Fatalf("round %d: group exists %v but user lists %v", i, exists, gs)
		}
	}
}
