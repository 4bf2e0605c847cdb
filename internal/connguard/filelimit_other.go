//go:build !unix

package connguard

// windowsHandles stands in for a descriptor limit where there is none
// (Windows handles are bounded only by memory): the default bound is then
// MaxForFileLimit of it.
const windowsHandles = 16384

// FileLimit reports a fixed budget on systems without RLIMIT_NOFILE.
func FileLimit() (uint64, error) { return windowsHandles, nil }
