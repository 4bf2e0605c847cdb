package iam

import (
	"strings"

	"github.com/filesphere/filesphere/cluster/meta"
)

// The iam key space, all under meta.PrefixIAM ("i/"), declared here and
// nowhere else. Values are JSON records (records.go). Entity names are
// unique regardless of case, as in AWS, so their keys use the lower-cased
// name; the record keeps the name as created.
//
//	i/account                 accountRecord: account id, canonical id (written once, at bootstrap)
//	i/gen                     empty; its revision is the IAM generation, bumped by every
//	                          write that can change an authentication or authorization
//	                          answer (caches compare it, see cache.go)
//	i/user/<name>             userRecord: user, its key ids, groups, inline and attached
//	                          policies, tags, login profile (argon2id hash)
//	i/group/<name>            groupRecord: group, members, inline and attached policies
//	i/role/<name>             roleRecord: role, trust policy, inline and attached policies
//	i/policy/<name>           policyRecord: managed policy, its versions, attachment count
//	i/key/<AKIA…>             accessKeyRecord: owner, status, sealed secret
//	i/lastused/<AKIA…>        lastUsedRecord: last use of a key (coalesced, not in i/gen)
//	i/session/<ASIA…>         sessionRecord: temporary credentials (sealed secret, token
//	                          hash, expiry, who it stands for, session policy and tags)
//	i/oauth/                  package iam/oauth (its layout in iam/oauth/keys.go)
const (
	keyAccount     = meta.PrefixIAM + "account"
	keyGen         = meta.PrefixIAM + "gen"
	prefixUser     = meta.PrefixIAM + "user/"
	prefixGroup    = meta.PrefixIAM + "group/"
	prefixRole     = meta.PrefixIAM + "role/"
	prefixPolicy   = meta.PrefixIAM + "policy/"
	prefixKey      = meta.PrefixIAM + "key/"
	prefixLastUsed = meta.PrefixIAM + "lastused/"
	prefixSession  = meta.PrefixIAM + "session/"
	// PrefixOAuth is the part of the iam key space kept for iam/oauth.
	PrefixOAuth = meta.PrefixIAM + "oauth/"
)

func userKey(name string) string          { return prefixUser + strings.ToLower(name) }
func groupKey(name string) string         { return prefixGroup + strings.ToLower(name) }
func roleKey(name string) string          { return prefixRole + strings.ToLower(name) }
func policyKey(name string) string        { return prefixPolicy + strings.ToLower(name) }
func accessKeyKey(id string) string       { return prefixKey + id }
func lastUsedKey(id string) string        { return prefixLastUsed + id }
func sessionKey(id string) string         { return prefixSession + id }
func nameFromKey(prefix, k string) string { return strings.TrimPrefix(k, prefix) }
