package client

import (
	"path"
	"strings"
)

// Location is a command-line path: remote (ALIAS/bucket/key) or local.
type Location struct {
	// Alias is empty for a local path.
	Alias, Bucket, Key string
	// Local is the file system path of a local location.
	Local string
}

// IsRemote reports whether the location is on an S3 endpoint.
func (l Location) IsRemote() bool { return l.Alias != "" }

// String is the path as the user writes it.
func (l Location) String() string {
	if !l.IsRemote() {
		return l.Local
	}
	s := l.Alias
	if l.Bucket != "" {
		s += "/" + l.Bucket
		if l.Key != "" {
			s += "/" + l.Key
		}
	}
	return s
}

// child is the remote location of key rel under l taken as a folder.
func (l Location) child(rel string) Location {
	c := l
	c.Key = dirPrefix(l.Key) + rel
	return c
}

// dirPrefix is key as a folder prefix: "" or ending in "/".
func dirPrefix(key string) string {
	if key == "" || strings.HasSuffix(key, "/") {
		return key
	}
	return key + "/"
}

// baseName is the last segment of a key (a folder key keeps none).
func baseName(key string) string {
	return path.Base("/" + strings.TrimSuffix(key, "/"))
}

// ParseLocation reads one path: the first segment names an alias when one
// of that name exists (isAlias); paths starting with "/", "./", "../" or
// "~" and everything else are local. A local folder named like an alias is
// reached as ./NAME.
func ParseLocation(s string, isAlias func(string) bool) Location {
	if s == "" || s == "." || s == ".." || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") ||
		strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~") {
		return Location{Local: s}
	}
	name, rest, _ := strings.Cut(s, "/")
	if !isAlias(name) {
		return Location{Local: s}
	}
	bucket, key, _ := strings.Cut(rest, "/")
	return Location{Alias: name, Bucket: bucket, Key: key}
}
