package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Policy language versions. A document without Version is read as
// Version2008, in which policy variables are literal text.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Document is the parsed form of a JSON policy, element by element, before
// validation. Single values and lists both become slices; Condition blocks
// become one Condition per (operator, key), sorted.
type Document struct {
	Version   string
	ID        string
	Statement []Statement
}

// Statement is one statement of a Document. A nil slice or pointer means the
// element is absent.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Condition    []Condition
}

// Effect is a statement's effect, or a decision's.
type Effect string

// The two effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Principals is the value of a Principal or NotPrincipal element: either
// the wildcard "*" or lists per principal type. {"AWS": "*"} is kept as
// AWS: ["*"] and, like "*", matches everyone.
type Principals struct {
	Wildcard      bool
	AWS           []string // account ids or IAM/STS ARNs
	Service       []string // service principals, e.g. "s3.amazonaws.com"
	Federated     []string // identity providers (web identity, SAML)
	CanonicalUser []string // canonical ids of accounts
}

// Condition is one key test of a Condition block: Operator as written
// (e.g. "ForAnyValue:StringLikeIfExists"), the condition key as written and
// its values as text (JSON numbers and booleans keep their literal text).
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// ParseDocument reads a JSON policy into a Document. It checks only the
// shape (JSON syntax, known element names, value types); Compile checks the
// meaning. Duplicate JSON keys and invalid UTF-8 are refused, so what a
// reviewer reads is what is evaluated.
func ParseDocument(data []byte) (Document, error) {
	if !utf8.Valid(data) {
		return Document{}, docErr(ErrSyntax, "", "", "document is not valid UTF-8")
	}
	if err := checkJSON(data); err != nil {
		return Document{}, docErr(ErrSyntax, "", "", err.Error())
	}
	top, err := object(data, []string{"Version", "Id", "Statement"})
	if err != nil {
		return Document{}, err.at(-1, "")
	}
	var doc Document
	if raw, ok := top["Version"]; ok {
		if doc.Version, err = str(raw, "Version"); err != nil {
			return Document{}, err.at(-1, "")
		}
	}
	if raw, ok := top["Id"]; ok {
		if doc.ID, err = str(raw, "Id"); err != nil {
			return Document{}, err.at(-1, "")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return Document{}, docErr(ErrNoStatement, "Statement", "", "")
	}
	var list []json.RawMessage
	switch firstByte(raw) {
	case '[':
		if e := json.Unmarshal(raw, &list); e != nil {
			return Document{}, docErr(ErrSyntax, "Statement", "", e.Error())
		}
	case '{':
		list = []json.RawMessage{raw}
	default:
		return Document{}, docErr(ErrSyntax, "Statement", "", "must be an object or a list of objects")
	}
	if len(list) == 0 {
		return Document{}, docErr(ErrNoStatement, "Statement", "", "")
	}
	doc.Statement = make([]Statement, len(list))
	for i, raw := range list {
		st, err := parseStatement(raw)
		if err != nil {
			return Document{}, err.at(i, st.Sid)
		}
		doc.Statement[i] = st
	}
	return doc, nil
}

// shapeErr is an *Error not yet placed in a statement.
type shapeErr struct{ e *Error }

func (s *shapeErr) at(stmt int, sid string) *Error {
	s.e.Statement, s.e.Sid = stmt, sid
	return s.e
}

func bad(kind error, element, value, detail string) *shapeErr {
	return &shapeErr{&Error{Kind: kind, Element: element, Value: value, Detail: detail}}
}

func parseStatement(raw json.RawMessage) (Statement, *shapeErr) {
	var st Statement
	m, err := object(raw, []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"})
	if err != nil {
		return st, err
	}
	// Sid first, so later errors can name the statement.
	if v, ok := m["Sid"]; ok {
		if st.Sid, err = str(v, "Sid"); err != nil {
			return st, err
		}
	}
	if v, ok := m["Effect"]; ok {
		s, err := str(v, "Effect")
		if err != nil {
			return st, err
		}
		st.Effect = Effect(s)
	}
	for _, el := range []struct {
		name string
		dst  *[]string
	}{{"Action", &st.Action}, {"NotAction", &st.NotAction}, {"Resource", &st.Resource}, {"NotResource", &st.NotResource}} {
		if v, ok := m[el.name]; ok {
			if *el.dst, err = strList(v, el.name); err != nil {
				return st, err
			}
			// An empty list names nothing: refused like a missing element
			// (AWS does), so present and absent never look alike.
			if len(*el.dst) == 0 {
				kind := ErrMissingResource
				if strings.HasSuffix(el.name, "Action") {
					kind = ErrMissingAction
				}
				return st, &shapeErr{&Error{Kind: kind, Element: el.name}}
			}
		}
	}
	for _, el := range []struct {
		name string
		dst  **Principals
	}{{"Principal", &st.Principal}, {"NotPrincipal", &st.NotPrincipal}} {
		if v, ok := m[el.name]; ok {
			if *el.dst, err = parsePrincipals(v, el.name); err != nil {
				return st, err
			}
		}
	}
	if v, ok := m["Condition"]; ok {
		if st.Condition, err = parseConditions(v); err != nil {
			return st, err
		}
	}
	return st, nil
}

func parsePrincipals(raw json.RawMessage, element string) (*Principals, *shapeErr) {
	if firstByte(raw) == '"' {
		s, err := str(raw, element)
		if err != nil {
			return nil, err
		}
		if s != "*" {
			return nil, bad(ErrBadPrincipal, element, s, `a string principal must be "*"`)
		}
		return &Principals{Wildcard: true}, nil
	}
	m, err := object(raw, []string{"AWS", "Service", "Federated", "CanonicalUser"})
	if err != nil {
		if errors.Is(err.e.Kind, ErrUnknownElement) {
			err.e.Kind = ErrBadPrincipal
			err.e.Detail = "principal type must be AWS, Service, Federated or CanonicalUser"
		}
		err.e.Element = element
		return nil, err
	}
	p := &Principals{}
	for _, el := range []struct {
		name string
		dst  *[]string
	}{{"AWS", &p.AWS}, {"Service", &p.Service}, {"Federated", &p.Federated}, {"CanonicalUser", &p.CanonicalUser}} {
		if v, ok := m[el.name]; ok {
			if *el.dst, err = strList(v, element); err != nil {
				return nil, err
			}
			if len(*el.dst) == 0 {
				return nil, bad(ErrBadPrincipal, element, "", el.name+" lists no principal")
			}
		}
	}
	if len(m) == 0 {
		return nil, bad(ErrBadPrincipal, element, "", "names no principal")
	}
	return p, nil
}

func parseConditions(raw json.RawMessage) ([]Condition, *shapeErr) {
	ops, err := object(raw, nil)
	if err != nil {
		err.e.Element = "Condition"
		return nil, err
	}
	var out []Condition
	for op, raw := range ops {
		keys, err := object(raw, nil)
		if err != nil {
			err.e.Element = "Condition"
			return nil, err
		}
		if len(keys) == 0 {
			return nil, bad(ErrBadConditionKey, "Condition", op, "operator tests no key")
		}
		for key, raw := range keys {
			vals, err := condValues(raw)
			if err != nil {
				return nil, bad(ErrBadConditionValue, "Condition", key, err.Error())
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	sortConditions(out)
	return out, nil
}

func sortConditions(cs []Condition) {
	slices.SortFunc(cs, func(a, b Condition) int {
		if c := strings.Compare(a.Operator, b.Operator); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// condValues reads a condition value: a string, number or boolean, or a
// non-empty list of them.
func condValues(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	one := func(v any) (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return string(x), true
		case bool:
			if x {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return nil, errors.New("empty list of values")
		}
		out := make([]string, len(list))
		for i, x := range list {
			s, ok := one(x)
			if !ok {
				return nil, errors.New("values must be strings, numbers or booleans")
			}
			out[i] = s
		}
		return out, nil
	}
	s, ok := one(v)
	if !ok {
		return nil, errors.New("values must be strings, numbers or booleans")
	}
	return []string{s}, nil
}

// object decodes a JSON object into its members; with allowed set, any
// other member name is refused (names are case-sensitive, as in AWS).
func object(raw json.RawMessage, allowed []string) (map[string]json.RawMessage, *shapeErr) {
	if firstByte(raw) != '{' {
		return nil, bad(ErrSyntax, "", "", "expected a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bad(ErrSyntax, "", "", err.Error())
	}
	if allowed != nil {
		for k := range m {
			if !slices.Contains(allowed, k) {
				return nil, bad(ErrUnknownElement, "", k, "")
			}
		}
	}
	return m, nil
}

func str(raw json.RawMessage, element string) (string, *shapeErr) {
	if firstByte(raw) != '"' {
		return "", bad(ErrSyntax, element, "", "must be a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", bad(ErrSyntax, element, "", err.Error())
	}
	return s, nil
}

// strList reads a string or a list of strings. An empty list yields a
// non-nil empty slice, so that Compile can tell it from absence.
func strList(raw json.RawMessage, element string) ([]string, *shapeErr) {
	switch firstByte(raw) {
	case '"':
		s, err := str(raw, element)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(raw, &raws); err != nil {
			return nil, bad(ErrSyntax, element, "", err.Error())
		}
		out := make([]string, 0, len(raws))
		for _, r := range raws {
			s, err := str(r, element)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, bad(ErrSyntax, element, "", "must be a string or a list of strings")
}

func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// checkJSON verifies that data is exactly one JSON value and that no object
// has the same member twice (encoding/json would silently keep the last).
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // next token in an object is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			top := &stack[n-1]
			if top.key {
				if k, ok := tok.(string); ok {
					if top.keys[k] {
						return errors.New("duplicate member " + strconvQuote(k))
					}
					top.keys[k] = true
					top.key = false
					continue
				}
			} else {
				top.key = true
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, object: true, key: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 && dec.More() {
			return errors.New("data after the policy document")
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// MarshalJSON writes the document in a canonical form: lists for
// multi-valued elements, Condition grouped by operator. Parsing the output
// yields an equal Document.
func (d Document) MarshalJSON() ([]byte, error) {
	type stmt struct {
		Sid          string                         `json:"Sid,omitempty"`
		Effect       Effect                         `json:"Effect,omitempty"`
		Principal    any                            `json:"Principal,omitempty"`
		NotPrincipal any                            `json:"NotPrincipal,omitempty"`
		Action       []string                       `json:"Action,omitempty"`
		NotAction    []string                       `json:"NotAction,omitempty"`
		Resource     []string                       `json:"Resource,omitempty"`
		NotResource  []string                       `json:"NotResource,omitempty"`
		Condition    map[string]map[string][]string `json:"Condition,omitempty"`
	}
	out := struct {
		Version   string `json:"Version,omitempty"`
		ID        string `json:"Id,omitempty"`
		Statement []stmt `json:"Statement"`
	}{Version: d.Version, ID: d.ID, Statement: make([]stmt, len(d.Statement))}
	for i, s := range d.Statement {
		o := stmt{Sid: s.Sid, Effect: s.Effect, Action: s.Action, NotAction: s.NotAction, Resource: s.Resource, NotResource: s.NotResource}
		if s.Principal != nil {
			o.Principal = s.Principal.jsonValue()
		}
		if s.NotPrincipal != nil {
			o.NotPrincipal = s.NotPrincipal.jsonValue()
		}
		if len(s.Condition) > 0 {
			o.Condition = map[string]map[string][]string{}
			for _, c := range s.Condition {
				if o.Condition[c.Operator] == nil {
					o.Condition[c.Operator] = map[string][]string{}
				}
				o.Condition[c.Operator][c.Key] = append(o.Condition[c.Operator][c.Key], c.Values...)
			}
		}
		out.Statement[i] = o
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func (p *Principals) jsonValue() any {
	if p.Wildcard {
		return "*"
	}
	m := map[string][]string{}
	for name, list := range map[string][]string{"AWS": p.AWS, "Service": p.Service, "Federated": p.Federated, "CanonicalUser": p.CanonicalUser} {
		if len(list) > 0 {
			m[name] = list
		}
	}
	return m
}

// clone deep-copies d, so a compiled Policy cannot be changed through it.
func (d Document) clone() Document {
	out := d
	out.Statement = make([]Statement, len(d.Statement))
	for i, s := range d.Statement {
		c := s
		c.Action, c.NotAction = slices.Clone(s.Action), slices.Clone(s.NotAction)
		c.Resource, c.NotResource = slices.Clone(s.Resource), slices.Clone(s.NotResource)
		c.Principal, c.NotPrincipal = s.Principal.clone(), s.NotPrincipal.clone()
		c.Condition = make([]Condition, len(s.Condition))
		for j, cond := range s.Condition {
			cond.Values = slices.Clone(cond.Values)
			c.Condition[j] = cond
		}
		if s.Condition == nil {
			c.Condition = nil
		}
		out.Statement[i] = c
	}
	return out
}

func (p *Principals) clone() *Principals {
	if p == nil {
		return nil
	}
	return &Principals{Wildcard: p.Wildcard, AWS: slices.Clone(p.AWS), Service: slices.Clone(p.Service),
		Federated: slices.Clone(p.Federated), CanonicalUser: slices.Clone(p.CanonicalUser)}
}
