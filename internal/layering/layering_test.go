package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/filesphere/filesphere/"

// allowed lists, for each package, the project packages it may import.
// A package missing from the table may import no project package; "*"
// allows any (wiring and black-box test code).
var allowed = map[string][]string{
	"cmd/filesphere":    {"*"},
	"e2e":               {"*"},
	"e2e/harness":       {"*"},
	"s3api/s3test":      {"*"},
	"internal/layering": {},
	"s3api":             {"s3api/sigv4", "storage"},
	"s3api/sigv4":       {},
	"storage":           {"erasure", "storage/drive", "cluster/meta"},
	"storage/drive":     {},
	"iam":               {"cluster/meta"},
	"erasure":           {},
	"cluster":           {"cluster/rpc", "cluster/ring", "cluster/meta", "storage/drive"},
	"cluster/rpc":       {"storage/drive", "cluster/meta"},
	"cluster/ring":      {},
	"cluster/meta":      {},
	// The load generator is S3 client code: it knows no server package.
	"client/bench": {},
	// Test-support packages import only what they test.
	"storage/drive/drivetest": {"storage/drive"},
	"cluster/meta/metatest":   {"cluster/meta"},
}

func TestImportsFollowTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		rules, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in the layering table; add it with the imports the architecture allows", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok || permitted(rules, dep) {
				continue
			}
			t.Errorf("%s imports %s, which the architecture does not allow", pkg, dep)
		}
	}
}

func permitted(rules []string, dep string) bool {
	for _, r := range rules {
		if r == "*" || r == dep {
			return true
		}
	}
	return false
}
