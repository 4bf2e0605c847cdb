package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/filesphere/filesphere/"

// rule is what one package may import.
type rule struct {
	// pkgs are the project packages its production code may import; "*"
	// allows any (wiring and black-box test code).
	pkgs []string
	// testPkgs are the further project packages its tests may import.
	testPkgs []string
	// libs are the third-party import-path prefixes its production code
	// may import; the standard library is always allowed.
	libs []string
	// testLibs are the further third-party prefixes its tests may import.
	testLibs []string
}

// Third-party groups, named once so each layer says which it uses.
var (
	obs     = []string{"github.com/sirupsen/logrus", "github.com/prometheus/client_golang/prometheus"}
	logTest = []string{"github.com/sirupsen/logrus/hooks/test"}
	// sdks are the real S3 clients the protocol layer is tested with.
	sdks = []string{"github.com/aws/aws-sdk-go-v2", "github.com/aws/smithy-go", "github.com/minio/minio-go/v7"}
	// browser drives headless Chromium in the end-to-end tests.
	browser = []string{"github.com/chromedp/chromedp", "github.com/chromedp/cdproto"}
	// pty runs the client verbs on a pseudo-terminal (progress bars).
	pty = []string{"github.com/creack/pty"}
)

func join(groups ...[]string) []string { return slices.Concat(groups...) }

// layers is the architecture's import table (ARCHITECTURE.md): imports go
// downward only, protocol → domain → mechanisms → leaves. A package missing
// from it fails the test.
var layers = map[string]rule{
	// Wiring and black-box tests.
	"cmd/filesphere": {pkgs: []string{"*"}, testPkgs: []string{"*"},
		libs: join(obs, []string{"github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/aws/aws-sdk-go-v2", "github.com/aws/smithy-go", "golang.org/x/term"})},
	"e2e":         {pkgs: []string{"*"}, testPkgs: []string{"*"}, testLibs: join(sdks, browser, pty, []string{"github.com/go-jose/go-jose/v4"})},
	"e2e/harness": {pkgs: []string{"*"}, libs: join(sdks, browser)},

	// Protocol.
	// The S3 client behind the CLI verbs: any endpoint, so no project
	// package; progress bars (mpb), a shared rate limit, parallel parts.
	"client": {libs: join([]string{"github.com/aws/aws-sdk-go-v2", "github.com/aws/smithy-go", "github.com/vbauerster/mpb/v8", "golang.org/x/time/rate", "golang.org/x/sync/errgroup"}),
		testPkgs: []string{"internal/s3test", "iam"}, testLibs: []string{"github.com/sirupsen/logrus"}},
	"client/bench": {libs: join(sdks, []string{"github.com/dustin/go-humanize", "github.com/sirupsen/logrus"}),
		testPkgs: []string{"internal/s3test"}},
	"s3api": {pkgs: []string{"s3api/sigv4", "storage", "storage/sse", "kms", "iam", "iam/policy", "internal/ascii"}, testPkgs: []string{"internal/s3test", "internal/clocktest"},
		libs:     join(obs, []string{"golang.org/x/sync/semaphore"}),
		testLibs: join(sdks, logTest, []string{"github.com/minio/crc64nvme", "github.com/prometheus/client_golang/prometheus/promhttp"})},
	"s3api/sigv4": {pkgs: []string{"internal/ascii"}, testLibs: sdks},
	// The web console imports no project package: it forwards to the S3
	// API handler it is given (its tests set up users through iam).
	// Its tests run it against the real S3 API and OAuth2 server.
	"console": {testPkgs: []string{"internal/s3test", "iam", "iam/oauth", "s3api", "storage"},
		libs: []string{"github.com/sirupsen/logrus", "github.com/aws/aws-sdk-go-v2/aws", "golang.org/x/sync/semaphore", "golang.org/x/oauth2"}},
	// The client side of filesphere login and credentials.
	"client/login": {},
	// The OAuth2 / OpenID Connect server and the STS exchange of its tokens.
	"iam/oauth": {pkgs: []string{"iam", "cluster/meta"},
		libs: []string{"github.com/sirupsen/logrus", "github.com/ory/fosite", "github.com/go-jose/go-jose/v4", "golang.org/x/time/rate"}},

	// Domain.
	"storage": {pkgs: []string{"erasure", "storage/drive", "storage/sse", "cluster/meta"},
		testPkgs: []string{"cluster/ring", "internal/clocktest"},
		// minio-go cross-checks the CRC combine against a client's own.
		testLibs: []string{"github.com/minio/minio-go/v7"},
		libs: join(obs, []string{"github.com/google/uuid", "github.com/minio/crc64nvme", "github.com/minio/sha256-simd", "golang.org/x/time/rate",
			// the hot-object cache
			"github.com/maypok86/otter/v2",
			// content-defined chunking of deduplicating buckets
			"github.com/restic/chunker",
			// the records' decoder
			"github.com/goccy/go-json"})},
	"iam":        {pkgs: []string{"cluster/meta", "iam/policy"}, libs: []string{"github.com/sirupsen/logrus", "golang.org/x/crypto/argon2"}},
	"iam/policy": {},

	// Mechanisms.
	"cluster": {pkgs: []string{"cluster/rpc", "cluster/ring", "cluster/meta", "cluster/pki", "storage/drive"},
		testPkgs: []string{"internal/clocktest"},
		libs:     join(obs, []string{"github.com/hashicorp/raft"})},
	"cluster/rpc": {pkgs: []string{"storage/drive", "cluster/meta", "cluster/pki"}, testPkgs: []string{"storage/drive/drivetest"}, libs: obs},

	// Leaves.
	"kms":         {pkgs: []string{"cluster/meta"}, libs: []string{"github.com/sirupsen/logrus"}},
	"storage/sse": {libs: []string{"golang.org/x/crypto/chacha20poly1305", "golang.org/x/sys/cpu"}},
	// BLAKE3 only in a benchmark: the measured case for HighwayHash.
	"erasure": {libs: []string{"github.com/klauspost/reedsolomon", "github.com/minio/highwayhash", "github.com/minio/sha256-simd"},
		testLibs: []string{"github.com/zeebo/blake3"}},
	// x/sys/unix: O_DIRECT shard writes (local_direct.go).
	"storage/drive": {testPkgs: []string{"storage/drive/drivetest"}, libs: join(obs, []string{"golang.org/x/sys/unix"}), testLibs: logTest},
	"cluster/ring":  {libs: []string{"github.com/cespare/xxhash/v2"}},
	"cluster/pki":   {pkgs: []string{"internal/tlsutil"}, libs: []string{"golang.org/x/crypto/scrypt"}},
	// TLS mechanics of the public listeners (production code, not test
	// support, despite living under internal/).
	"internal/tlsutil": {libs: []string{"github.com/sirupsen/logrus"}},
	"cluster/meta": {testPkgs: []string{"cluster/meta/metatest"},
		libs: []string{"github.com/hashicorp/go-hclog", "github.com/hashicorp/raft", "github.com/hashicorp/raft-boltdb/v2", "go.etcd.io/bbolt"}},

	// Serving helpers for the wiring.
	"internal/connguard": {libs: []string{"github.com/prometheus/client_golang/prometheus"}},
	// Allocation-free ASCII header-name tests (s3api and sigv4).
	"internal/ascii": {},

	// Test support: each imports only what it tests; none is importable
	// by production code outside internal/.
	"internal/s3test":         {pkgs: []string{"*"}, libs: join(obs, sdks)},
	"internal/clocktest":      {},
	"internal/layering":       {},
	"storage/drive/drivetest": {pkgs: []string{"storage/drive"}},
	"cluster/meta/metatest":   {pkgs: []string{"cluster/meta"}},
}

// testSupport are the packages only tests may import: production code,
// even wiring with "*", never does.
var testSupport = []string{"internal/s3test", "internal/clocktest", "storage/drive/drivetest", "cluster/meta/metatest"}

// testOnly are the non-test packages that exist only for tests, and may
// therefore build on test support.
var testOnly = []string{"e2e/harness", "internal/s3test"}

// listed is one package as `go list` sees it.
type listed struct {
	pkg              string
	imports, testImp []string
}

func goList(t *testing.T) []listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		pkgs = append(pkgs, listed{pkg: strings.TrimPrefix(f[0], module), imports: strings.Fields(f[1]), testImp: strings.Fields(f[2])})
	}
	return pkgs
}

func TestImportsFollowTheLayers(t *testing.T) {
	for _, p := range goList(t) {
		r, known := layers[p.pkg]
		if !known {
			t.Errorf("package %s is not in the layering table; add it with the imports the architecture allows", p.pkg)
			continue
		}
		for _, imp := range p.imports {
			dep, _ := strings.CutPrefix(imp, module)
			if slices.Contains(testSupport, dep) && !slices.Contains(testOnly, p.pkg) {
				t.Errorf("%s imports %s, which only tests may import", p.pkg, imp)
			}
			if why := check(imp, p.pkg, r.pkgs, r.libs); why != "" {
				t.Errorf("%s imports %s: %s", p.pkg, imp, why)
			}
		}
		for _, imp := range p.testImp {
			if why := check(imp, p.pkg, join(r.pkgs, r.testPkgs), join(r.libs, r.testLibs)); why != "" {
				t.Errorf("tests of %s import %s: %s", p.pkg, imp, why)
			}
		}
	}
}

// check says why pkg may not import imp, or "" when it may.
func check(imp, pkg string, pkgs, libs []string) string {
	if dep, ok := strings.CutPrefix(imp, module); ok {
		if dep == pkg || slices.Contains(pkgs, "*") || slices.Contains(pkgs, dep) {
			return ""
		}
		return "the architecture does not allow this project import"
	}
	if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
		return "" // standard library
	}
	for _, l := range libs {
		if imp == l || strings.HasPrefix(imp, l+"/") {
			return ""
		}
	}
	return "this third-party import is not named for the layer"
}

// The checker itself refuses what it should.
func TestCheck(t *testing.T) {
	tests := []struct {
		imp, pkg   string
		pkgs, libs []string
		ok         bool
	}{
		{"fmt", "storage", nil, nil, true},
		{module + "storage", "s3api", []string{"storage"}, nil, true},
		{module + "s3api", "storage", []string{"erasure"}, nil, false},
		{module + "storage/drive", "storage", nil, nil, false},
		{"github.com/gorilla/mux", "s3api", nil, []string{"github.com/gorilla/mux"}, true},
		{"github.com/gorilla/muxer", "s3api", nil, []string{"github.com/gorilla/mux"}, false},
		{"github.com/aws/aws-sdk-go-v2/service/s3", "e2e", nil, sdks, true},
		{"github.com/aws/aws-sdk-go-v2/service/s3", "storage", nil, obs, false},
	}
	for _, tc := range tests {
		if got := check(tc.imp, tc.pkg, tc.pkgs, tc.libs) == ""; got != tc.ok {
			t.Errorf("check(%s from %s) allowed=%v, want %v", tc.imp, tc.pkg, got, tc.ok)
		}
	}
}
