package storage

import (
	"context"
	"testing"
)

// Test hooks for the external tests (package storage_test).

// CPUMeter is cpuMeter: CPU time per operation beside wall time.
func CPUMeter(b *testing.B) func() { return cpuMeter(b) }

// CheckChunkRefs is checkChunkRefs: reference counts against the namespace.
func CheckChunkRefs(t testing.TB, e *Engine) (stored int64, records int) { return checkChunkRefs(t, e) }

// VersionChunks returns the names and sizes of the chunks of a key's
// latest version, in order.
func VersionChunks(t testing.TB, e *Engine, bucket, key string) (names []string, sizes []int64) {
	t.Helper()
	ctx := context.Background()
	v, _, err := e.resolve(ctx, bucket, key, "")
	if err != nil {
		t.Fatal(err)
	}
	pd, err := loadDataFrom(ctx, e.kv, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pd.Chunks {
		names, sizes = append(names, c.Hash), append(sizes, c.Size)
	}
	return names, sizes
}

// LegacyRecord is the stored value val of key as binaries before the inline
// envelope wrote it (plain JSON, inline bytes base64 in it), so tests can
// read and edit records as JSON; values of other keys are returned as
// they are.
func LegacyRecord(t testing.TB, key string, val []byte) []byte {
	t.Helper()
	k, ok := kindOf(key)
	if !ok {
		return val
	}
	var v any
	switch k {
	case kindData:
		v = new(partsRecord)
	case kindPart:
		v = new(dataRecord)
	default:
		v = new(chunkRecord)
	}
	if err := decode(val, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return marshal(v)
}
