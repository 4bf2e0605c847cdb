package s3api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// postPolicy is a browser-based upload's policy document: when it expires
// and what the form may contain.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
	// sized says the policy bounds the file: content-length-range.
	sized            bool
	minSize, maxSize int64
}

// postCondition is an "eq" or "starts-with" condition on one field.
type postCondition struct {
	op    string // "eq" or "starts-with"
	field string // lower case, without the '$'
	value string
}

// String renders the condition as S3 quotes it in its messages.
func (c postCondition) String() string {
	b, _ := json.Marshal([]string{c.op, "$" + c.field, c.value})
	return string(bytes.ReplaceAll(b, []byte(`","`), []byte(`", "`)))
}

// policyError is an InvalidPolicyDocument with S3's "Invalid Policy: "
// lead.
func policyError(format string, args ...any) error {
	return apiErr(ErrInvalidPolicyDocument, "Invalid Policy: "+fmt.Sprintf(format, args...))
}

// policyDenied is the AccessDenied of a form the policy does not allow.
func policyDenied(format string, args ...any) error {
	return apiErr(ErrAccessDenied, "Invalid according to Policy: "+fmt.Sprintf(format, args...))
}

// parsePostPolicy decodes the base64 policy field. Its JSON is held to
// the document's shape: an expiration, a list of conditions, nothing else.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, policyError("The policy is not valid base64.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, policyError("Invalid JSON.")
	}
	if doc.Expiration == nil {
		return nil, policyError("Policy missing expiration.")
	}
	p := &postPolicy{}
	if p.expiration, err = time.Parse(time.RFC3339, *doc.Expiration); err != nil {
		return nil, policyError("Invalid 'expiration' value: '%.64s'", *doc.Expiration)
	}
	if doc.Conditions == nil {
		return nil, policyError("Policy missing conditions.")
	}
	for _, c := range doc.Conditions {
		if err := p.addCondition(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addCondition parses one condition: {"field": "value"} (exact matches),
// [op, "$field", "value"] or ["content-length-range", min, max].
func (p *postPolicy) addCondition(raw json.RawMessage) error {
	var simple map[string]json.RawMessage
	if json.Unmarshal(raw, &simple) == nil {
		if len(simple) == 0 {
			return policyError("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for _, name := range slices.Sorted(maps.Keys(simple)) {
			var s string
			if json.Unmarshal(simple[name], &s) != nil {
				return policyError("Invalid Simple-Condition: value must be a string.")
			}
			p.conditions = append(p.conditions, postCondition{op: "eq", field: strings.ToLower(name), value: s})
		}
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return policyError("Invalid Condition: a condition must be an object or a list.")
	}
	var op string
	if json.Unmarshal(list[0], &op) != nil {
		return policyError("Invalid Condition: the operation must be a string.")
	}
	op = strings.ToLower(op)
	if len(list) != 3 {
		return policyError("Invalid Condition: %.32q takes exactly two arguments.", op)
	}
	switch op {
	case "content-length-range":
		lo, okLo := policyInt(list[1])
		hi, okHi := policyInt(list[2])
		if !okLo || !okHi || lo < 0 || hi < lo {
			return policyError("Invalid content-length-range: the bounds must be integers with 0 <= min <= max.")
		}
		p.sized, p.minSize, p.maxSize = true, lo, hi
		return nil
	case "eq", "starts-with":
		var name, value string
		if json.Unmarshal(list[1], &name) != nil || json.Unmarshal(list[2], &value) != nil {
			return policyError("Invalid Condition: %s takes a field name and a string.", op)
		}
		f, ok := strings.CutPrefix(name, "$")
		if !ok || f == "" {
			return policyError("Invalid Condition: the field name %.64q must start with '$'.", name)
		}
		p.conditions = append(p.conditions, postCondition{op: op, field: strings.ToLower(f), value: value})
		return nil
	}
	return policyError("Invalid Condition: unknown operation %.32q.", op)
}

// policyInt reads a JSON integer (not a float, not a string: S3 calls
// 512.0 invalid JSON).
func policyInt(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil || !bytes.ContainsAny(raw, "0123456789") || bytes.ContainsAny(raw, `".eE`) {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// exempt reports whether a form field need not appear in the policy.
func exempt(name string) bool {
	return name == "x-amz-signature" || name == "policy" || name == "file" || strings.HasPrefix(name, "x-ignore-")
}

// check applies the policy to a form at now. values are the fields the
// conditions test (lower-case names, with "bucket" and the key after
// ${filename}); names are the form's own fields, each of which some
// condition must name.
func (p *postPolicy) check(now time.Time, values map[string]string, names []string) error {
	if now.After(p.expiration) {
		return policyDenied("Policy expired.")
	}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		covered[c.field] = true
		if !c.holds(values[c.field]) {
			return policyDenied("Policy Condition failed: %s", c)
		}
	}
	for _, n := range names {
		if !covered[n] && !exempt(n) {
			return policyDenied("Extra input fields: %s", n)
		}
	}
	return nil
}

// holds reports whether the condition holds for a field's value (a field
// the form lacks has the empty value). A Content-Type may list several
// types; each must start with the prefix.
func (c postCondition) holds(v string) bool {
	if c.op == "eq" {
		return v == c.value
	}
	if c.field != "content-type" {
		return strings.HasPrefix(v, c.value)
	}
	for t := range strings.SplitSeq(v, ",") {
		if !strings.HasPrefix(strings.TrimSpace(t), c.value) {
			return false
		}
	}
	return true
}
