// Package layering holds the test that keeps imports flowing downward as
// ARCHITECTURE.md lays out; it has no code of its own.
package layering
