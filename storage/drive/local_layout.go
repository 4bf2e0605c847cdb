package drive

import (
	"hash/fnv"
	"path/filepath"
	"strings"
)

// Names of the format 2 layout. An id becomes a flat file name by spelling
// '/' as flatSep; neither flatSep nor the two marks below is an id
// character, so the mapping is one-to-one and reversible. A flat name longer
// than maxFlatName (ids may be 512 bytes, names only 255) is cut into
// chunks: directories "~<chunk>" and a final file "=<rest>", so a long id
// never collides with a short one, nor a file with a directory.
const (
	flatSep     = "+"
	chunkDir    = '~'
	chunkFile   = '='
	maxFlatName = 200
	fanOut      = 256
)

// fanDir is the fan-out directory of id: two hex digits of its hash.
func fanDir(id string) string { return fanName(fanIndex(id)) }

func fanIndex(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % fanOut)
}

func fanName(i int) string {
	const hex = "0123456789abcdef"
	return string([]byte{hex[i>>4], hex[i&15]})
}

// shardPath is where shard id lives.
func (l *Local) shardPath(id string) string {
	name := strings.ReplaceAll(id, "/", flatSep)
	dir := filepath.Join(l.dataDir, fanDir(id))
	if len(name) <= maxFlatName {
		return filepath.Join(dir, name)
	}
	parts := []string{dir}
	for len(name) > maxFlatName {
		parts = append(parts, string(chunkDir)+name[:maxFlatName])
		name = name[maxFlatName:]
	}
	return filepath.Join(append(parts, string(chunkFile)+name)...)
}

// flatID turns a flat name (joined chunks, marks removed) back into an id.
func flatID(name string) string { return strings.ReplaceAll(name, flatSep, "/") }

// chunked reports whether id's path has chunk directories.
func chunked(id string) bool { return len(id) > maxFlatName }
