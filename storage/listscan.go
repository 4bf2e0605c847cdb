package storage

import (
	"bytes"
	"errors"
)

// A listing reads a thousand head or version records per page, and half
// its CPU went to decoding them (a third of that to the copy goccy makes
// of each input). listScan reads the listed fields straight from the
// record's bytes: a small JSON parser for the shape encoding/json writes
// (any key order and whitespace too), which skips other values while
// checking their syntax. Whatever it does not handle exactly as the JSON
// decoder would — escapes other than \" and \\ or non-ASCII bytes in a
// listed string, null, a number that is not a plain integer, a key that
// matches a listed field only case-insensitively, a syntax error — makes
// it give up, and the record is decoded by decode instead; so the scan
// either agrees with the decoder or is not used (FuzzListScan).

// errScan says the scan gave up: decode the record instead.
var errScan = errors.New("listing scan: not in the fast path")

// maxScanDepth bounds the nesting the scan skips; deeper records go to
// the decoder.
const maxScanDepth = 32

type listScanner struct {
	b []byte
	i int
}

// The JSON names the scan matches, per object; a key equal to one only
// under case folding, which the decoder would also take, makes the scan
// give up.
var (
	headNames     = []string{"latest"}
	versionNames  = []string{"vid", "null", "dm", "size", "etag", "mtime", "sums", "versioned"}
	checksumNames = []string{"a", "t"}
)

// scanListedHead reads the listed fields of a head record's JSON into v.
func scanListedHead(js []byte, v *listedVersion) error {
	s := listScanner{b: js}
	err := s.object(true, func(key []byte) error {
		if string(key) == "latest" {
			return s.version(v)
		}
		return s.other(key, headNames)
	})
	if err != nil {
		return err
	}
	return s.end()
}

// scanListedVersion reads the listed fields of a version record's JSON.
func scanListedVersion(js []byte, v *listedVersion) error {
	s := listScanner{b: js}
	if err := s.version(v); err != nil {
		return err
	}
	return s.end()
}

func (s *listScanner) version(v *listedVersion) error {
	return s.object(true, func(key []byte) error {
		var err error
		switch string(key) {
		case "vid":
			v.VersionID, err = s.str()
		case "null":
			v.Null, err = s.boolean()
		case "dm":
			v.DeleteMarker, err = s.boolean()
		case "size":
			v.Size, err = s.integer()
		case "etag":
			v.ETag, err = s.str()
		case "mtime":
			err = s.time(v)
		case "sums":
			v.Checksums, err = s.checksums()
		case "versioned":
			v.Versioned, err = s.boolean()
		default:
			err = s.other(key, versionNames)
		}
		return err
	})
}

func (s *listScanner) checksums() ([]listedChecksum, error) {
	s.ws()
	if !s.eat('[') {
		return nil, errScan
	}
	var out []listedChecksum // nil for [] (the decoder's empty slice lists the same)
	for first := true; ; first = false {
		s.ws()
		if s.eat(']') {
			return out, nil
		}
		if !first && !s.eat(',') {
			return nil, errScan
		}
		var c listedChecksum
		err := s.object(true, func(key []byte) error {
			var err error
			var str string
			switch string(key) {
			case "a":
				str, err = s.str()
				c.Algorithm = ChecksumAlgorithm(str)
			case "t":
				c.Type, err = s.str()
			default:
				err = s.other(key, checksumNames)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// other skips the value of a key that is none of names, unless it is one
// of them under case folding. Matched keys are ASCII (object refuses
// others), so such a key has the name's length.
func (s *listScanner) other(key []byte, names []string) error {
	for _, n := range names {
		if len(key) == len(n) && bytes.EqualFold(key, []byte(n)) {
			return errScan
		}
	}
	return s.skip(0)
}

// object reads {"key": value, ...}, calling fn with each key positioned
// at its value. Where keys are matched they must be plain (a key with
// escapes could decode to a listed name); where the object is skipped,
// any key does.
func (s *listScanner) object(matched bool, fn func(key []byte) error) error {
	s.ws()
	if !s.eat('{') {
		return errScan
	}
	for first := true; ; first = false {
		s.ws()
		if s.eat('}') {
			return nil
		}
		if !first && !s.eat(',') {
			return errScan
		}
		s.ws()
		key, plain, err := s.rawString()
		if err != nil || matched && !plain {
			return errScan
		}
		s.ws()
		if !s.eat(':') {
			return errScan
		}
		if err := fn(key); err != nil {
			return err
		}
	}
}

// skip passes over one JSON value, checking its syntax.
func (s *listScanner) skip(depth int) error {
	if depth > maxScanDepth {
		return errScan
	}
	s.ws()
	if s.i >= len(s.b) {
		return errScan
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, err := s.rawString()
		return err
	case c == '{':
		return s.object(false, func([]byte) error { return s.skip(depth + 1) })
	case c == '[':
		s.i++
		for first := true; ; first = false {
			s.ws()
			if s.eat(']') {
				return nil
			}
			if !first && !s.eat(',') {
				return errScan
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

// strPlain marks the bytes a string holds as they are in plain ASCII:
// printable, not a quote or backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// rawString reads a JSON string and returns its bytes between the quotes
// as they are; plain says they hold no escape and only printable ASCII.
// Escapes are checked to be JSON's; raw control characters are refused.
func (s *listScanner) rawString() (raw []byte, plain bool, err error) {
	if !s.eat('"') {
		return nil, false, errScan
	}
	b, i := s.b, s.i
	start, plain := i, true
	for {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return nil, false, errScan
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return nil, false, errScan
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return nil, false, errScan
				}
				i += 6
			default:
				return nil, false, errScan
			}
		case c < 0x20:
			return nil, false, errScan
		default: // non-ASCII
			plain = false
			i++
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// str reads a listed string: printable ASCII with at most \" and \\
// escapes (an ETag's quotes); anything else goes to the decoder.
func (s *listScanner) str() (string, error) {
	s.ws()
	raw, plain, err := s.rawString()
	if err != nil {
		return "", err
	}
	if plain {
		return internListed(raw), nil
	}
	var buf [80]byte
	out := buf[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c >= 0x80 {
			return "", errScan
		}
		if c == '\\' {
			i++
			if c = raw[i]; c != '"' && c != '\\' {
				return "", errScan
			}
		}
		out = append(out, c)
	}
	return string(out), nil
}

// internListed is string(b) without an allocation for the strings most
// records repeat: the null version id and checksum algorithms and types.
func internListed(b []byte) string {
	switch string(b) {
	case NullVersionID:
		return NullVersionID
	case "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "FULL_OBJECT", "COMPOSITE":
		for _, s := range [...]string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "FULL_OBJECT", "COMPOSITE"} {
			if string(b) == s {
				return s
			}
		}
	}
	return string(b)
}

// time reads mtime as the decoder does: time.Time's UnmarshalJSON on the
// quoted bytes (which it gets unescaped, so escapes go to the decoder).
func (s *listScanner) time(v *listedVersion) error {
	s.ws()
	start := s.i
	_, plain, err := s.rawString()
	if err != nil || !plain {
		return errScan
	}
	if v.ModTime.UnmarshalJSON(s.b[start:s.i]) != nil {
		return errScan
	}
	return nil
}

func (s *listScanner) boolean() (bool, error) {
	s.ws()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		return true, s.literal("true")
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		return false, s.literal("false")
	}
	return false, errScan
}

// integer reads a listed int64 written as plain decimal digits.
func (s *listScanner) integer() (int64, error) {
	s.ws()
	start, neg := s.i, s.eat('-')
	var n int64
	digits := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
		digits++
	}
	// No leading zero, at most 18 digits (no overflow), and the number
	// must end here (no fraction or exponent).
	if digits == 0 || digits > 18 || digits > 1 && s.b[start+b2i(neg)] == '0' || !s.delimited() {
		return 0, errScan
	}
	if neg {
		n = -n
	}
	return n, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// number passes over a JSON number, checking its grammar.
func (s *listScanner) number() error {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return errScan
	}
	if s.eat('.') && s.digits() == 0 {
		return errScan
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return errScan
		}
	}
	if !s.delimited() {
		return errScan
	}
	return nil
}

func (s *listScanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// delimited says a number or literal ends here: at the end, whitespace or
// a structural character.
func (s *listScanner) delimited() bool {
	if s.i >= len(s.b) {
		return true
	}
	switch s.b[s.i] {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (s *listScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return errScan
	}
	s.i += len(lit)
	if !s.delimited() {
		return errScan
	}
	return nil
}

func (s *listScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *listScanner) ws() {
	// encoding/json writes none: one test for that case.
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end checks only whitespace follows the record.
func (s *listScanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errScan
	}
	return nil
}
