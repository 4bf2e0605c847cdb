package s3api

import (
	"net/http/httptest"
	"testing"
)

func TestClassifyAdmin(t *testing.T) {
	tests := []struct {
		method, target, domain, host string
		want                         Route
	}{
		{"POST", AdminPrefix + "/heal?deep=true", "", "", Route{Op: OpAdminHeal}},
		{"GET", AdminPrefix + "/heal/status", "", "", Route{Op: OpAdminHealStatus}},
		{"GET", AdminPrefix + "/cluster/status", "", "", Route{Op: OpAdminClusterStatus}},
		{"POST", AdminPrefix + "/cluster/remove?node=n2", "", "", Route{Op: OpAdminRemoveNode}},
		{"POST", AdminPrefix + "/node/drain?node=n2", "", "", Route{Op: OpAdminDrainNode}},
		{"GET", AdminPrefix + "/node/drain?node=n2", "", "", Route{Op: OpAdminDrainStatus}},
		{"GET", AdminPrefix + "/metrics", "", "", Route{Op: OpAdminMetrics}},
		{"GET", AdminPrefix + "/lifecycle/status", "", "", Route{Op: OpAdminLifecycle}},
		{"GET", AdminPrefix + "/heal", "", "", Route{Op: OpMethodNotAllowed}},
		{"PUT", AdminPrefix + "/node/drain", "", "", Route{Op: OpMethodNotAllowed}},
		{"GET", AdminPrefix + "/nope", "", "", Route{Op: OpAdminUnknown}},
		{"GET", "/.filesphere/other", "", "", Route{Op: OpAdminUnknown}},
		// Subresource names never turn an admin request into an S3 one.
		{"GET", AdminPrefix + "/heal/status?tagging", "", "", Route{Op: OpAdminHealStatus}},
		// In a virtual-host bucket the same path is an object key.
		{"GET", AdminPrefix + "/heal/status", "s3.example.test", "photos.s3.example.test",
			Route{Op: OpGetObject, Bucket: "photos", Key: ".filesphere/admin/v1/heal/status", API: APIS3}},
		// A plain /metrics is S3 (the bucket "metrics").
		{"GET", "/metrics", "", "", Route{Op: OpListObjectsV1, Bucket: "metrics", API: APIS3}},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, "http://localhost"+tc.target, nil)
		if tc.host != "" {
			r.Host = tc.host
		}
		if got := classify(r, tc.domain); got != tc.want {
			t.Errorf("%s %s: %+v, want %+v", tc.method, tc.target, got, tc.want)
		}
	}
	for _, rt := range allAdminRoutes {
		if act, ok := AdminAction(rt.op); !ok || act == "" {
			t.Errorf("%s has no action", rt.op)
		}
	}
}
