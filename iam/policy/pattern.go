package policy

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a policy string compiled once: literal text, the wildcards
// * and ? (where the element allows them) and policy variables (where the
// element and the policy version allow them). Matching never allocates
// unless a variable needs formatting, and runs in O(len(pattern)*len(s)),
// so a hostile policy cannot make matching exponential.
type pattern struct {
	pieces []piece
	lit    string // the whole text when static (no variable)
	static bool   // no variable: lit is exact unless wild
	wild   bool   // has * or ?
	fold   bool   // ASCII case-insensitive (actions)
}

type pieceKind uint8

const (
	pLit  pieceKind = iota // literal text
	pVar                   // ${key} or ${key, 'default'}; value is literal
	pStar                  // * : any run of characters
	pOne                   // ? : exactly one character
)

type piece struct {
	kind   pieceKind
	text   string // pLit: the text; pVar: the default
	hasDef bool
	key    condKey
}

// tokenize compiles s. vars enables ${...} (Version 2012-10-17 in Resource
// and condition values), wild enables * and ?.
func tokenize(s string, vars, wild bool) ([]piece, error) {
	var out []piece
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, piece{kind: pLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case wild && c == '*':
			flush()
			if n := len(out); n == 0 || out[n-1].kind != pStar {
				out = append(out, piece{kind: pStar})
			}
			i++
		case wild && c == '?':
			flush()
			out = append(out, piece{kind: pOne})
			i++
		case vars && c == '$' && i+1 < len(s) && s[i+1] == '{':
			p, n, err := parseVariable(s[i:])
			if err != nil {
				return nil, err
			}
			if p.kind == pLit {
				lit.WriteString(p.text)
			} else {
				flush()
				out = append(out, p)
			}
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return out, nil
}

// parseVariable reads "${...}" at the start of s and returns the piece and
// the bytes consumed. ${*}, ${?} and ${$} stand for the literal characters.
func parseVariable(s string) (piece, int, error) {
	end := -1
	inQuote := false
	for i := 2; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote // '' inside a default toggles twice: an escaped quote
		case s[i] == '}' && !inQuote:
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return piece{}, 0, errVar(s, "unterminated ${")
	}
	body := s[2:end]
	n := end + 1
	switch strings.TrimSpace(body) {
	case "*", "?", "$":
		return piece{kind: pLit, text: strings.TrimSpace(body)}, n, nil
	}
	name, def, hasDef := strings.Cut(body, ",")
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t'{$*?") || !strings.Contains(name, ":") {
		return piece{}, 0, errVar(s[:n], "must name a condition key")
	}
	p := piece{kind: pVar, key: compileKey(name)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return piece{}, 0, errVar(s[:n], "default must be in single quotes")
		}
		inner := def[1 : len(def)-1]
		// A quote inside the default is written twice.
		if strings.Count(inner, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			return piece{}, 0, errVar(s[:n], "unescaped quote in default")
		}
		p.text, p.hasDef = strings.ReplaceAll(inner, "''", "'"), true
	}
	return p, n, nil
}

func errVar(v, detail string) error {
	return &Error{Kind: ErrBadVariable, Value: v, Detail: detail}
}

func newPattern(s string, vars, wild, fold bool) (pattern, error) {
	ps, err := tokenize(s, vars, wild)
	if err != nil {
		return pattern{}, err
	}
	p := pattern{pieces: ps, static: true, fold: fold}
	for _, pc := range ps {
		switch pc.kind {
		case pVar:
			p.static = false
		case pStar, pOne:
			p.wild = true
		}
	}
	if p.static && !p.wild {
		for _, pc := range ps {
			p.lit += pc.text
		}
	}
	return p, nil
}

// match reports whether s matches p. Variables resolve through ec; one
// that cannot be resolved (key absent or multi-valued, and no default)
// makes the pattern match nothing.
func (p *pattern) match(s string, ec *evalCtx) bool {
	if p.static && !p.wild {
		if p.fold {
			return asciiEqualFold(s, p.lit)
		}
		return s == p.lit
	}
	if !p.static {
		for i := range p.pieces {
			if pc := &p.pieces[i]; pc.kind == pVar {
				if _, ok := ec.resolve(pc); !ok {
					return false
				}
			}
		}
	}
	return glob(p.pieces, s, p.fold, ec)
}

// glob is the classic wildcard match with backtracking to the last star,
// on pieces: literal and variable pieces match as units.
func glob(ps []piece, s string, fold bool, ec *evalCtx) bool {
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for {
		if pi < len(ps) {
			pc := &ps[pi]
			switch pc.kind {
			case pStar:
				if pi == len(ps)-1 {
					return true // a trailing star takes any remainder
				}
				starPi, starSi = pi, si
				pi++
				continue
			case pOne:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					pi++
					continue
				}
			default:
				t := pc.text
				if pc.kind == pVar {
					t, _ = ec.resolve(pc)
				}
				if hasPrefix(s[si:], t, fold) {
					si += len(t)
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starPi < 0 || starSi >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		starSi += w
		pi, si = starPi+1, starSi
	}
}

func hasPrefix(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return asciiEqualFold(s[:len(prefix)], prefix)
	}
	return s[:len(prefix)] == prefix
}

// asciiEqualFold compares with ASCII letters folded; other bytes exactly.
// Action names are ASCII, and this never allocates.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// resolved returns the pattern's text with variables substituted, for the
// few operators that need the whole string (case-insensitive equality).
func (p *pattern) resolved(ec *evalCtx) (string, bool) {
	if p.static {
		return p.lit, true
	}
	var b strings.Builder
	for i := range p.pieces {
		pc := &p.pieces[i]
		if pc.kind == pVar {
			v, ok := ec.resolve(pc)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		} else {
			b.WriteString(pc.text)
		}
	}
	return b.String(), true
}
