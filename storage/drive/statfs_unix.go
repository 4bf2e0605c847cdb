//go:build unix

package drive

import "syscall"

// statfs reports the capacity of the filesystem holding path, counting only
// the space available to unprivileged users as free (what a write can use).
func statfs(path string) (total, free uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return uint64(st.Blocks) * bs, uint64(st.Bavail) * bs, nil
}
