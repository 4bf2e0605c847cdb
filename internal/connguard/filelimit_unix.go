//go:build unix

package connguard

import "syscall"

// FileLimit is the process's soft RLIMIT_NOFILE (the Go runtime raises it
// to the hard limit at start).
func FileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}
