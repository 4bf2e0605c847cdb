package policy

import (
	"bytes"
	"encoding/base64"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	fString family = iota
	fNumeric
	fDate
	fBool
	fBinary
	fIP
	fARN
	fNull
)

type compare uint8

const (
	cEq     compare = iota // equality (String*, Numeric/Date Equals, Bool, BinaryEquals, IpAddress, Arn*)
	cEqFold                // StringEqualsIgnoreCase
	cLike                  // StringLike
	cLT
	cLE
	cGT
	cGE
)

type setOp uint8

const (
	setNone setOp = iota
	setForAll
	setForAny
)

type opInfo struct {
	fam     family
	cmp     compare
	negated bool
}

// lookupOperator maps an operator name (without qualifier or IfExists)
// to its family, comparison and negation.
func lookupOperator(name string) (opInfo, bool) {
	switch name {
	case "StringEquals":
		return opInfo{fString, cEq, false}, true
	case "StringNotEquals":
		return opInfo{fString, cEq, true}, true
	case "StringEqualsIgnoreCase":
		return opInfo{fString, cEqFold, false}, true
	case "StringNotEqualsIgnoreCase":
		return opInfo{fString, cEqFold, true}, true
	case "StringLike":
		return opInfo{fString, cLike, false}, true
	case "StringNotLike":
		return opInfo{fString, cLike, true}, true
	case "NumericEquals":
		return opInfo{fNumeric, cEq, false}, true
	case "NumericNotEquals":
		return opInfo{fNumeric, cEq, true}, true
	case "NumericLessThan":
		return opInfo{fNumeric, cLT, false}, true
	case "NumericLessThanEquals":
		return opInfo{fNumeric, cLE, false}, true
	case "NumericGreaterThan":
		return opInfo{fNumeric, cGT, false}, true
	case "NumericGreaterThanEquals":
		return opInfo{fNumeric, cGE, false}, true
	case "DateEquals":
		return opInfo{fDate, cEq, false}, true
	case "DateNotEquals":
		return opInfo{fDate, cEq, true}, true
	case "DateLessThan":
		return opInfo{fDate, cLT, false}, true
	case "DateLessThanEquals":
		return opInfo{fDate, cLE, false}, true
	case "DateGreaterThan":
		return opInfo{fDate, cGT, false}, true
	case "DateGreaterThanEquals":
		return opInfo{fDate, cGE, false}, true
	case "Bool":
		return opInfo{fBool, cEq, false}, true
	case "BinaryEquals":
		return opInfo{fBinary, cEq, false}, true
	case "IpAddress":
		return opInfo{fIP, cEq, false}, true
	case "NotIpAddress":
		return opInfo{fIP, cEq, true}, true
	case "ArnEquals":
		return opInfo{fARN, cEq, false}, true
	case "ArnLike":
		return opInfo{fARN, cEq, false}, true
	case "ArnNotEquals":
		return opInfo{fARN, cEq, true}, true
	case "ArnNotLike":
		return opInfo{fARN, cEq, true}, true
	case "Null":
		return opInfo{fNull, cEq, false}, true
	}
	return opInfo{}, false
}

// cond is one compiled Condition.
type cond struct {
	opInfo
	set      setOp
	ifExists bool
	key      condKey
	strs     []pattern // String*, Bool
	nums     []float64
	dates    []time.Time
	bins     [][]byte
	ips      []netip.Prefix
	arns     []arnPattern
	null     []bool
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
// Names are case-sensitive, as AWS writes them.
func parseOperator(op string) (opInfo, setOp, bool, bool) {
	set := setNone
	name := op
	if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
		set, name = setForAll, rest
	} else if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
		set, name = setForAny, rest
	}
	info, ok := lookupOperator(name)
	ifExists := false
	if !ok {
		base, cut := strings.CutSuffix(name, "IfExists")
		info, ok = lookupOperator(base)
		ifExists = cut
	}
	if !ok || (info.fam == fNull && (ifExists || set != setNone)) {
		return opInfo{}, 0, false, false
	}
	return info, set, ifExists, true
}

// compileCondition validates c and pre-parses its values. Policy variables
// are honoured (when vars) in String*, Bool and Arn* values, as AWS
// documents; elsewhere "${" is literal and fails the type check.
func compileCondition(c Condition, vars bool) (cond, error) {
	info, set, ifExists, ok := parseOperator(c.Operator)
	if !ok {
		return cond{}, &Error{Kind: ErrUnknownOperator, Element: "Condition", Value: c.Operator}
	}
	if !validKeyName(c.Key) {
		return cond{}, &Error{Kind: ErrBadConditionKey, Element: "Condition", Value: c.Key, Detail: "must be service:name"}
	}
	if len(c.Values) == 0 {
		return cond{}, &Error{Kind: ErrBadConditionValue, Element: "Condition", Value: c.Key, Detail: "no values"}
	}
	k := cond{opInfo: info, set: set, ifExists: ifExists, key: compileKey(c.Key)}
	badValue := func(v, why string) error {
		return &Error{Kind: ErrBadConditionValue, Element: "Condition", Value: v, Detail: c.Operator + ": " + why}
	}
	for _, v := range c.Values {
		switch info.fam {
		case fString:
			p, err := newPattern(v, vars, info.cmp == cLike, false)
			if err != nil {
				return cond{}, withElement(err, "Condition")
			}
			k.strs = append(k.strs, p)
		case fBool:
			p, err := newPattern(v, vars, false, false)
			if err != nil {
				return cond{}, withElement(err, "Condition")
			}
			if _, ok := parseBool(p.lit); p.static && !ok {
				return cond{}, badValue(v, "not true or false")
			}
			k.strs = append(k.strs, p)
		case fNull:
			b, ok := parseBool(v)
			if !ok {
				return cond{}, badValue(v, "not true or false")
			}
			k.null = append(k.null, b)
		case fNumeric:
			f, ok := parseNumber(v)
			if !ok {
				return cond{}, badValue(v, "not a number")
			}
			k.nums = append(k.nums, f)
		case fDate:
			t, ok := parseDate(v)
			if !ok {
				return cond{}, badValue(v, "not an ISO 8601 date or epoch seconds")
			}
			k.dates = append(k.dates, t)
		case fBinary:
			b, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil {
				return cond{}, badValue(v, "not base64")
			}
			k.bins = append(k.bins, b)
		case fIP:
			p, ok := parseCIDR(v)
			if !ok {
				return cond{}, badValue(v, "invalid CIDR")
			}
			k.ips = append(k.ips, p)
		case fARN:
			ap, err := compileARNPattern(v, vars)
			if err != nil {
				if _, isPolicyErr := err.(*Error); isPolicyErr {
					return cond{}, withElement(err, "Condition")
				}
				return cond{}, &Error{Kind: ErrBadARN, Element: "Condition", Value: v}
			}
			k.arns = append(k.arns, ap)
		}
	}
	return k, nil
}

func withElement(err error, element string) error {
	if e, ok := err.(*Error); ok {
		e.Element = element
	}
	return err
}

func validKeyName(k string) bool {
	svc, name, ok := strings.Cut(k, ":")
	return ok && svc != "" && name != "" && !strings.ContainsAny(k, "*?${} \t\r\n")
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	// ISO 8601 forms AWS accepts.
	for _, l := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05",
		"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseCIDR accepts an IPv4 or IPv6 CIDR, or a single address (a /32 or
// /128), and normalises host bits away.
func parseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// tri is a condition outcome. tErr means a request value had the wrong
// type for a typed operator; it fails closed (see statement.conditions).
type tri uint8

const (
	tFalse tri = iota
	tTrue
	tErr
)

func triOf(b bool) tri {
	if b {
		return tTrue
	}
	return tFalse
}

// eval tests the condition against the request.
//
// A key absent from the request: ...IfExists is true; ForAllValues is true
// (nothing fails); ForAnyValue is false; otherwise negated operators are
// true and the rest false. Null is true when presence differs from the
// value ("true" = must be absent).
//
// Present values: without a set qualifier a positive operator needs one
// request value to match one policy value; a negated one needs no request
// value to match any (NOR). ForAllValues needs every request value to pass
// the (possibly negated) test, ForAnyValue at least one.
func (c *cond) eval(ec *evalCtx) tri {
	vals := ec.lookup(&c.key)
	if c.fam == fNull {
		for _, wantAbsent := range c.null {
			if (vals.n == 0) == wantAbsent {
				return tTrue
			}
		}
		return tFalse
	}
	if vals.n == 0 {
		switch {
		case c.ifExists, c.set == setForAll:
			return tTrue
		case c.set == setForAny:
			return tFalse
		}
		return triOf(c.negated)
	}
	all, anyPass := true, false
	for i := 0; i < vals.n; i++ {
		r := c.one(&vals, i, ec)
		if r == tErr {
			return tErr
		}
		if r == tTrue {
			anyPass = true
		} else {
			all = false
		}
	}
	switch {
	case c.set == setForAll, c.set == setNone && c.negated:
		return triOf(all)
	}
	return triOf(anyPass)
}

// one tests request value i against the policy values: any match for a
// positive operator, none for a negated one.
func (c *cond) one(vals *values, i int, ec *evalCtx) tri {
	m := c.matchAny(vals, i, ec)
	if m == tErr || !c.negated {
		return m
	}
	return triOf(m == tFalse)
}

func (c *cond) matchAny(vals *values, i int, ec *evalCtx) tri {
	switch c.fam {
	case fString:
		s := vals.str(i)
		for j := range c.strs {
			p := &c.strs[j]
			if c.cmp == cEqFold {
				if v, ok := p.resolved(ec); ok && strings.EqualFold(s, v) {
					return tTrue
				}
			} else if p.match(s, ec) {
				return tTrue
			}
		}
		return tFalse
	case fBool:
		b, ok := parseBool(vals.str(i))
		if !ok {
			return tErr
		}
		for j := range c.strs {
			if v, ok := c.strs[j].resolved(ec); ok {
				if pb, ok := parseBool(v); ok && pb == b {
					return tTrue
				}
			}
		}
		return tFalse
	case fNumeric:
		var f float64
		if vals.time {
			f = float64(vals.t.Unix())
		} else {
			var ok bool
			if f, ok = parseNumber(vals.str(i)); !ok {
				return tErr
			}
		}
		for _, p := range c.nums {
			if cmpOK(c.cmp, compareFloat(f, p)) {
				return tTrue
			}
		}
		return tFalse
	case fDate:
		t := vals.t
		if !vals.time {
			var ok bool
			if t, ok = parseDate(vals.str(i)); !ok {
				return tErr
			}
		}
		for _, p := range c.dates {
			if cmpOK(c.cmp, t.Compare(p)) {
				return tTrue
			}
		}
		return tFalse
	case fBinary:
		b, err := base64.StdEncoding.Strict().DecodeString(vals.str(i))
		if err != nil {
			return tErr
		}
		for _, p := range c.bins {
			if bytes.Equal(b, p) {
				return tTrue
			}
		}
		return tFalse
	case fIP:
		a, err := netip.ParseAddr(vals.str(i))
		if err != nil {
			return tErr
		}
		a = a.WithZone("").Unmap()
		for _, p := range c.ips {
			if p.Contains(a) {
				return tTrue
			}
		}
		return tFalse
	case fARN:
		parts, ok := splitARN(vals.str(i))
		if !ok {
			return tErr
		}
		for j := range c.arns {
			if c.arns[j].match(&parts, ec) {
				return tTrue
			}
		}
		return tFalse
	}
	return tErr
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpOK(c compare, r int) bool {
	switch c {
	case cLT:
		return r < 0
	case cLE:
		return r <= 0
	case cGT:
		return r > 0
	case cGE:
		return r >= 0
	}
	return r == 0
}
