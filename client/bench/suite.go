package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ProfileSetNames are the named profile sets, for `filesphere bench suite`.
func ProfileSetNames() []string { return []string{"standard", "quick"} }

// ProfileSet returns a named set of profiles:
//
//   - standard: the team's reference measurement, run against FileSphere
//     and against a null S3 server on the same machine to report
//     "FileSphere / null" ratios: 64 MiB objects at concurrency 8 (PUT,
//     then GET of 16 objects), 4 KiB at 32 (PUT, then GET of 1,000), a
//     1 MiB mixed GET/STAT/PUT/DELETE load at 16 over 500 objects, and LIST
//     of 5,000 keys (1 KiB objects, 1,000-key pages) at 8.
//   - quick: the same shapes, smaller and for a few seconds each, for
//     `make bench`.
//
// Profiles leave Duration 0, so Config.Duration applies.
func ProfileSet(name string) ([]Profile, error) {
	const KiB, MiB = 1 << 10, 1 << 20
	switch name {
	case "standard":
		return []Profile{
			{Name: "put-64MiB", Op: OpPut, Size: 64 * MiB, Concurrency: 8},
			{Name: "get-64MiB", Op: OpGet, Size: 64 * MiB, Concurrency: 8, Objects: 16},
			{Name: "put-4KiB", Op: OpPut, Size: 4 * KiB, Concurrency: 32},
			{Name: "get-4KiB", Op: OpGet, Size: 4 * KiB, Concurrency: 32, Objects: 1000},
			{Name: "mixed-1MiB", Op: OpMixed, Size: MiB, Concurrency: 16, Objects: 500},
			{Name: "list-5000", Op: OpList, Size: KiB, Concurrency: 8, Objects: 5000},
		}, nil
	case "quick":
		return []Profile{
			{Name: "put-4MiB", Op: OpPut, Size: 4 * MiB, Concurrency: 4},
			{Name: "get-4MiB", Op: OpGet, Size: 4 * MiB, Concurrency: 4, Objects: 8},
			{Name: "put-4KiB", Op: OpPut, Size: 4 * KiB, Concurrency: 16},
			{Name: "get-4KiB", Op: OpGet, Size: 4 * KiB, Concurrency: 16, Objects: 200},
			{Name: "mixed-64KiB", Op: OpMixed, Size: 64 * KiB, Concurrency: 8, Objects: 100},
			{Name: "list-1000", Op: OpList, Size: KiB, Concurrency: 4, Objects: 1000},
		}, nil
	}
	return nil, fmt.Errorf("unknown profile set %q (want %s)", name, strings.Join(ProfileSetNames(), " or "))
}

// SelectProfiles keeps the profiles named in only (all when only is
// empty), in the set's order; an unknown name is an error.
func SelectProfiles(set []Profile, only []string) ([]Profile, error) {
	if len(only) == 0 {
		return set, nil
	}
	var out []Profile
	for _, n := range only {
		if !slices.ContainsFunc(set, func(p Profile) bool { return p.Name == n }) {
			return nil, fmt.Errorf("no profile %q in the set", n)
		}
	}
	for _, p := range set {
		if slices.Contains(only, p.Name) {
			out = append(out, p)
		}
	}
	return out, nil
}

// SuiteDefaultDuration is the timed phase per profile of a suite run.
const SuiteDefaultDuration = 20 * time.Second
