// Package ascii has the allocation-free ASCII tests the request paths use
// on header names, where strings.ToLower would allocate per header.
package ascii

// Is reports whether s holds only ASCII bytes.
func Is(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// EqualLower reports whether lower == strings.ToLower(s) for an ASCII s.
func EqualLower(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if lower[i] != c {
			return false
		}
	}
	return true
}
