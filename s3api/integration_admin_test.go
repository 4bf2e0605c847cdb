package s3api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// fakeAdmin is an in-memory cluster of nodes behind the admin API. It
// records every call, and only finishDrains (the leader's background in
// the real cluster) removes a drained node.
type fakeAdmin struct {
	mu       sync.Mutex
	draining map[string]bool // member → draining
	shards   map[string]int  // shards still on a member
	removed  map[string]bool
	calls    []string
	healErr  error
	noLeader bool
}

func newFakeAdmin(nodes ...string) *fakeAdmin {
	a := &fakeAdmin{draining: map[string]bool{}, shards: map[string]int{}, removed: map[string]bool{}}
	for _, n := range nodes {
		a.draining[n] = false
	}
	return a
}

func (a *fakeAdmin) record(call string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, call)
}

func (a *fakeAdmin) called() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *fakeAdmin) Heal(_ context.Context, opts storage.HealOptions) (storage.HealReport, error) {
	a.record(fmt.Sprintf("Heal deep=%v", opts.Deep))
	if a.healErr != nil {
		return storage.HealReport{}, a.healErr
	}
	return storage.HealReport{Deep: opts.Deep, Streams: 7, Healthy: 5, Healed: 2}, nil
}

func (a *fakeAdmin) HealStatus(context.Context) (s3api.AdminHealStatus, error) {
	a.record("HealStatus")
	if a.noLeader {
		return s3api.AdminHealStatus{}, fmt.Errorf("%w: election under way", s3api.ErrAdminNoLeader)
	}
	return s3api.AdminHealStatus{Leader: "n1", HealStatus: storage.HealStatus{Passes: 3, Waiting: 4},
		Unreachable: []s3api.AdminUnreachableNode{{Node: "n4", UnreachableSeconds: 8, LostAfterSeconds: 10}}}, nil
}

func (a *fakeAdmin) LifecycleStatus(context.Context) (s3api.AdminLifecycleStatus, error) {
	a.record("LifecycleStatus")
	return s3api.AdminLifecycleStatus{Leader: "n1", LifecycleStatus: storage.LifecycleStatus{Day: "24h0m0s", Passes: 2,
		Totals: map[string]int64{"delete_marker": 3}, Rescans: []storage.LifecycleRescan{}}}, nil
}

func (a *fakeAdmin) ClusterStatus(context.Context) (s3api.AdminClusterStatus, error) {
	a.record("ClusterStatus")
	a.mu.Lock()
	defer a.mu.Unlock()
	st := s3api.AdminClusterStatus{NodeID: "n1", Leader: "n1", Healthy: true}
	for id := range a.draining {
		st.Nodes = append(st.Nodes, s3api.AdminNodeStatus{ID: id, Online: true, Draining: a.draining[id]})
	}
	return st, nil
}

func (a *fakeAdmin) RemoveNode(_ context.Context, id string) error {
	a.record("RemoveNode " + id)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.draining[id]; !ok {
		return fmt.Errorf("%w: %s", s3api.ErrAdminUnknownNode, id)
	}
	if len(a.draining) == 1 {
		return fmt.Errorf("%w: %s", s3api.ErrAdminLastNode, id)
	}
	delete(a.draining, id)
	a.removed[id] = true
	return nil
}

func (a *fakeAdmin) DrainNode(_ context.Context, id string) (s3api.AdminDrainStatus, error) {
	a.record("DrainNode " + id)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.draining[id]; !ok {
		return s3api.AdminDrainStatus{}, fmt.Errorf("%w: %s", s3api.ErrAdminUnknownNode, id)
	}
	a.draining[id] = true
	return a.statusLocked(id), nil
}

func (a *fakeAdmin) DrainStatus(_ context.Context, id string) (s3api.AdminDrainStatus, error) {
	a.record("DrainStatus " + id)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.draining[id]; !ok && !a.removed[id] {
		return s3api.AdminDrainStatus{}, fmt.Errorf("%w: %s", s3api.ErrAdminUnknownNode, id)
	}
	return a.statusLocked(id), nil
}

func (a *fakeAdmin) statusLocked(id string) s3api.AdminDrainStatus {
	if a.removed[id] {
		return s3api.AdminDrainStatus{Node: id, Removed: true, SafeToTurnOff: true}
	}
	return s3api.AdminDrainStatus{Node: id, Draining: a.draining[id], ReferencedShards: a.shards[id]}
}

// finishDrains is what the leader does after a repair pass.
func (a *fakeAdmin) finishDrains() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, d := range a.draining {
		if d && a.shards[id] == 0 {
			delete(a.draining, id)
			a.removed[id] = true
		}
	}
}

func newAdminFixture(t *testing.T, a s3api.Admin, opts ...s3test.Option) *fixture {
	t.Helper()
	return newFixture(t, append([]s3test.Option{s3test.WithAPIConfig(func(c *s3api.Config) {
		if a != nil {
			c.Admin = a
		}
	})}, opts...)...)
}

// adminReq builds a request to an admin path ("heal/status") with query
// parameters given as "k=v" pairs.
func adminReq(method, path string, params ...string) rawReq {
	q := url.Values{}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		q.Set(k, v)
	}
	return rawReq{method: method, bucket: ".filesphere", key: "admin/v1/" + path, query: q}
}

var allAdminReqs = []rawReq{
	adminReq("POST", "heal"),
	adminReq("GET", "heal/status"),
	adminReq("GET", "cluster/status"),
	adminReq("POST", "cluster/remove", "node=n2"),
	adminReq("POST", "node/drain", "node=n2"),
	adminReq("GET", "node/drain", "node=n2"),
	adminReq("GET", "metrics"),
	adminReq("GET", "lifecycle/status"),
	adminReq("POST", "kms/key/create", "name=k1"),
	adminReq("GET", "kms/key/list"),
	adminReq("GET", "kms/key/status", "name=k1"),
	adminReq("POST", "kms/key/rotate", "name=k1"),
	adminReq("POST", "kms/key/disable", "name=k1"),
	adminReq("POST", "kms/key/enable", "name=k1"),
}

func TestAdminRefusesAnonymousAndWrongKeys(t *testing.T) {
	a := newFakeAdmin("n1", "n2", "n3")
	f := newAdminFixture(t, a)
	for _, base := range allAdminReqs {
		t.Run(base.method+" "+base.key, func(t *testing.T) {
			r := base
			r.unsign = true
			resp, body := f.do(t, r)
			wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)

			r = base
			r.secret = "wrong-secret-0123456789"
			resp, body = f.do(t, r)
			wantXMLError(t, resp, body, "SignatureDoesNotMatch", http.StatusForbidden)

			r = base
			r.access = "AKNOSUCHKEY000000000"
			resp, body = f.do(t, r)
			wantXMLError(t, resp, body, "InvalidAccessKeyId", http.StatusForbidden)
		})
	}
	if calls := a.called(); len(calls) != 0 {
		t.Fatalf("refused requests reached the admin backend: %v", calls)
	}
}

func TestAdminErrorsKeepTheirCodes(t *testing.T) {
	a := newFakeAdmin("n1")
	a.healErr = errors.New("drive controller on fire")
	f := newAdminFixture(t, a)
	tests := []struct {
		name   string
		req    rawReq
		code   string
		status int
		msg    string
	}{
		{"unknown node drain status", adminReq("GET", "node/drain", "node=n9"), "NoSuchNode", 404, `Node "n9" is not a member`},
		{"unknown node drain", adminReq("POST", "node/drain", "node=n9"), "NoSuchNode", 404, `"n9"`},
		{"unknown node remove", adminReq("POST", "cluster/remove", "node=n9"), "NoSuchNode", 404, `"n9"`},
		{"last node", adminReq("POST", "cluster/remove", "node=n1"), "InvalidClusterState", 409, "last node"},
		{"internal failure", adminReq("POST", "heal"), "InternalError", 500, ""},
		{"node missing", adminReq("POST", "node/drain"), "InvalidArgument", 400, "node parameter"},
		{"bad deep", adminReq("POST", "heal", "deep=maybe"), "InvalidArgument", 400, "deep"},
		{"unknown parameter", adminReq("GET", "heal/status", "verbose=1"), "InvalidArgument", 400, `"verbose"`},
		{"GET of a POST", adminReq("GET", "heal"), "MethodNotAllowed", 405, ""},
		{"DELETE of drain", adminReq("DELETE", "node/drain", "node=n1"), "MethodNotAllowed", 405, ""},
		{"unknown path", adminReq("GET", "no/such/op"), "NotImplemented", 501, "Unknown admin operation"},
		{"body", func() rawReq { r := adminReq("POST", "heal"); r.body = []byte("x"); return r }(), "UnexpectedContent", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.req)
			doc := wantXMLError(t, resp, body, tc.code, tc.status)
			if !strings.Contains(doc.Message, tc.msg) {
				t.Fatalf("message %q does not contain %q", doc.Message, tc.msg)
			}
			if strings.Contains(doc.Message, "on fire") {
				t.Fatalf("internal cause shown to the client: %q", doc.Message)
			}
		})
	}
	a.noLeader = true
	resp, body := f.do(t, adminReq("GET", "heal/status"))
	wantXMLError(t, resp, body, "ServiceUnavailable", 503)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.draining["n1"]; !ok {
		t.Fatal("the last node was removed")
	}
}

// TestAdminDrainStatusChangesNothing: a POST starts a drain; polling its
// status with GET never removes the node, even once it holds no shards;
// the leader's background does.
func TestAdminDrainStatusChangesNothing(t *testing.T) {
	a := newFakeAdmin("n1", "n2", "n3")
	a.shards["n3"] = 5
	f := newAdminFixture(t, a)
	resp, body := f.do(t, adminReq("POST", "node/drain", "node=n3"))
	var st s3api.AdminDrainStatus
	if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || !st.Draining || st.ReferencedShards != 5 {
		t.Fatalf("POST drain: %d %s", resp.StatusCode, body)
	}
	a.mu.Lock()
	a.shards["n3"] = 0 // the repairer moved everything
	a.mu.Unlock()
	for range 3 {
		resp, body = f.do(t, adminReq("GET", "node/drain", "node=n3"))
		st = s3api.AdminDrainStatus{}
		if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || !st.Draining || st.Removed || st.SafeToTurnOff {
			t.Fatalf("GET drain status: %d %s; want draining and not removed", resp.StatusCode, body)
		}
	}
	for _, c := range a.called() {
		if strings.HasPrefix(c, "RemoveNode") || strings.HasPrefix(c, "DrainNode") && c != "DrainNode n3" {
			t.Fatalf("a status read changed state: %v", a.called())
		}
	}
	if got := a.called(); !slices.Equal(got, []string{"DrainNode n3", "DrainStatus n3", "DrainStatus n3", "DrainStatus n3"}) {
		t.Fatalf("calls %v", got)
	}
	a.finishDrains()
	resp, body = f.do(t, adminReq("GET", "node/drain", "node=n3"))
	st = s3api.AdminDrainStatus{}
	if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || !st.Removed || !st.SafeToTurnOff {
		t.Fatalf("after the leader finished the drain: %d %s", resp.StatusCode, body)
	}
}

func TestAdminResultsAreTypedJSON(t *testing.T) {
	a := newFakeAdmin("n1", "n2")
	f := newAdminFixture(t, a)
	resp, body := f.do(t, adminReq("GET", "heal/status"))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Amz-Request-Id") == "" {
		t.Fatalf("heal status: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	var hs s3api.AdminHealStatus
	if err := json.Unmarshal(body, &hs); err != nil {
		t.Fatal(err)
	}
	if hs.Leader != "n1" || hs.Passes != 3 || hs.Waiting != 4 || len(hs.Unreachable) != 1 || hs.Unreachable[0].Node != "n4" {
		t.Fatalf("heal status %+v", hs)
	}
	resp, body = f.do(t, adminReq("POST", "heal", "deep=true"))
	var rep storage.HealReport
	if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil || !rep.Deep || rep.Streams != 7 {
		t.Fatalf("heal: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, adminReq("POST", "cluster/remove", "node=n2"))
	var rm s3api.AdminRemoveResult
	if resp.StatusCode != 200 || json.Unmarshal(body, &rm) != nil || rm.Removed != "n2" {
		t.Fatalf("remove: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, adminReq("GET", "cluster/status"))
	var cs s3api.AdminClusterStatus
	if resp.StatusCode != 200 || json.Unmarshal(body, &cs) != nil || len(cs.Nodes) != 1 || cs.Nodes[0].ID != "n1" {
		t.Fatalf("cluster status: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, adminReq("GET", "lifecycle/status"))
	var ls s3api.AdminLifecycleStatus
	if resp.StatusCode != 200 || json.Unmarshal(body, &ls) != nil || ls.Leader != "n1" || ls.Totals["delete_marker"] != 3 {
		t.Fatalf("lifecycle status: %d %s", resp.StatusCode, body)
	}
}

// TestAdminOperationsArePolicyActions: admin requests are authorized like
// S3 ones, each by its own admin: action. A user allowed admin:* but
// denied admin:RemoveNode may do all but that (and the backend never sees
// the refused call); a user without admin policy may do nothing.
func TestAdminOperationsArePolicyActions(t *testing.T) {
	a := newFakeAdmin("n1", "n2", "n3")
	f := newAdminFixture(t, a, s3test.WithAPIConfig(func(c *s3api.Config) {
		c.Metrics = promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{})
	}))
	operator := f.newUser(t, "operator", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"admin:*","Resource":"*"},
		{"Effect":"Deny","Action":"admin:RemoveNode","Resource":"*"}]}`)
	nobody := f.newUser(t, "nobody", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	ops := []s3api.Operation{s3api.OpAdminHeal, s3api.OpAdminHealStatus, s3api.OpAdminClusterStatus,
		s3api.OpAdminRemoveNode, s3api.OpAdminDrainNode, s3api.OpAdminDrainStatus, s3api.OpAdminMetrics, s3api.OpAdminLifecycle,
		s3api.OpAdminKMSCreateKey, s3api.OpAdminKMSListKeys, s3api.OpAdminKMSKeyStatus, s3api.OpAdminKMSRotateKey,
		s3api.OpAdminKMSDisableKey, s3api.OpAdminKMSEnableKey}
	for i, r := range allAdminReqs {
		resp, body := f.do(t, r.as(operator))
		if ops[i] == s3api.OpAdminRemoveNode {
			wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
		} else if resp.StatusCode != 200 {
			t.Fatalf("operator %s %s: %d %s", r.method, r.key, resp.StatusCode, body)
		}
		resp, body = f.do(t, r.as(nobody))
		wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
		r.unsign = true
		resp, body = f.do(t, r)
		wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	}
	for _, c := range a.called() {
		if strings.HasPrefix(c, "RemoveNode") {
			t.Fatalf("a denied remove reached the backend: %v", a.called())
		}
	}
	actions := map[string]bool{}
	for _, op := range ops {
		act, ok := s3api.AdminAction(op)
		if !ok || !strings.HasPrefix(act, "admin:") {
			t.Fatalf("%s has no admin action (%q)", op, act)
		}
		actions[act] = true
	}
	for _, act := range []string{"admin:Heal", "admin:ServerInfo", "admin:DrainNode", "admin:RemoveNode", "admin:Prometheus", "admin:LifecycleStatus",
		"admin:KMSCreateKey", "admin:KMSListKeys", "admin:KMSKeyStatus", "admin:KMSRotateKey", "admin:KMSDisableKey", "admin:KMSEnableKey"} {
		if !actions[act] {
			t.Errorf("no operation maps to %s", act)
		}
	}
	if _, ok := s3api.AdminAction(s3api.OpGetObject); ok {
		t.Error("an S3 operation has an admin action")
	}
}

func TestAdminDisabled(t *testing.T) {
	f := newAdminFixture(t, nil)
	resp, body := f.do(t, adminReq("GET", "heal/status"))
	wantXMLError(t, resp, body, "NotImplemented", http.StatusNotImplemented)
}

// TestAdminMetricsSignedByDefault: /metrics needs a signature unless the
// server opens it; a signed GET /metrics stays an S3 request (bucket
// "metrics"), the signed scrape path is under the admin prefix.
func TestAdminMetricsSignedByDefault(t *testing.T) {
	metricsCfg := func(public bool) s3test.Option {
		return s3test.WithAPIConfig(func(c *s3api.Config) {
			reg := prometheus.NewRegistry()
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "filesphere_test_gauge", Help: "test"})
			g.Set(42)
			reg.MustRegister(g)
			c.Metrics, c.MetricsPublic = promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), public
		})
	}
	f := newAdminFixture(t, nil, metricsCfg(false))
	resp, body := f.do(t, rawReq{method: "GET", bucket: "metrics", unsign: true})
	wantXMLError(t, resp, body, "AccessDenied", http.StatusForbidden)
	resp, body = f.do(t, adminReq("GET", "metrics"))
	if resp.StatusCode != 200 || !strings.Contains(string(body), "filesphere_test_gauge 42") {
		t.Fatalf("signed metrics: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("signed metrics Content-Type %q", ct)
	}
	resp, body = f.do(t, rawReq{method: "GET", bucket: "metrics"})
	wantXMLError(t, resp, body, "NoSuchBucket", http.StatusNotFound)

	pub := newAdminFixture(t, nil, metricsCfg(true))
	resp, body = pub.do(t, rawReq{method: "GET", bucket: "metrics", unsign: true})
	if resp.StatusCode != 200 || !strings.Contains(string(body), "filesphere_test_gauge 42") {
		t.Fatalf("public metrics: %d %s", resp.StatusCode, body)
	}
}
