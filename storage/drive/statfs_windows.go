//go:build windows

package drive

import "golang.org/x/sys/windows"

// statfs reports the capacity of the volume holding path, counting as free
// only what the calling user may use (quotas included), as on unix.
func statfs(path string) (total, free uint64, err error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, err
	}
	var avail, all, allFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &all, &allFree); err != nil {
		return 0, 0, err
	}
	return all, avail, nil
}
