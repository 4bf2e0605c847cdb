package oauth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// EnsurePublicClient registers a first-party client once, adds each
// node's redirect URI to it (also when nodes race), and leaves a client of
// the same name but another kind alone.
func TestEnsurePublicClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.p.EnsurePublicClient(ctx, "filesphere-console", "http://127.0.0.1:9001/cb")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Public || first.Grant != GrantAuthorizationCode || !slices.Equal(first.RedirectURIs, []string{"http://127.0.0.1:9001/cb"}) {
		t.Fatalf("registered %+v", first)
	}
	again, err := e.p.EnsurePublicClient(ctx, "filesphere-console", "http://127.0.0.1:9001/cb")
	if err != nil || again.ID != first.ID || len(again.RedirectURIs) != 1 {
		t.Fatalf("again: %+v %v", again, err)
	}
	// Several nodes at once, each with its own console URL.
	uris := []string{"https://n1.example/cb", "https://n2.example/cb", "https://n3.example/cb", "https://n4.example/cb"}
	var wg sync.WaitGroup
	errs := make([]error, len(uris))
	for i, u := range uris {
		wg.Go(func() { _, errs[i] = e.p.EnsurePublicClient(ctx, "filesphere-console", u) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	list, err := e.p.ListClients(ctx)
	if err != nil || len(list) != 1 || list[0].ID != first.ID {
		t.Fatalf("clients %+v %v", list, err)
	}
	want := append([]string{"http://127.0.0.1:9001/cb"}, uris...)
	slices.Sort(want)
	if !slices.Equal(list[0].RedirectURIs, want) {
		t.Fatalf("redirect URIs %v, want %v", list[0].RedirectURIs, want)
	}
	// The URI is checked as AddClient checks it: no plain http off loopback.
	if _, err := e.p.EnsurePublicClient(ctx, "filesphere-console", "http://10.0.0.5:9001/cb"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("http off loopback: %v", err)
	}
	if err := ValidRedirectURI("http://10.0.0.5:9001/cb"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ValidRedirectURI: %v", err)
	}
	// A confidential client of that name is not turned into a public one.
	e.user("svc")
	e.client(AddClientInput{Name: "taken", Grant: GrantClientCredentials, User: "svc"})
	if _, err := e.p.EnsurePublicClient(ctx, "taken", "https://n1.example/cb"); !errors.Is(err, ErrClientExists) {
		t.Fatalf("a confidential client of the name: %v", err)
	}
	// Removed by an admin, it is registered anew (with a new id).
	if err := e.p.RemoveClient(ctx, "filesphere-console"); err != nil {
		t.Fatal(err)
	}
	re, err := e.p.EnsurePublicClient(ctx, "filesphere-console", "https://n1.example/cb")
	if err != nil || re.ID == first.ID || !slices.Equal(re.RedirectURIs, []string{"https://n1.example/cb"}) {
		t.Fatalf("after removal: %+v %v", re, err)
	}
}
