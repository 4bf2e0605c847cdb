package iam

import (
	"time"
)

// Records stored under the keys of keys.go, JSON encoded. Names of other
// entities are kept lower-cased (as in their keys); managed policies are
// referred to by ARN.

type accountRecord struct {
	ID          string    `json:"id"`
	CanonicalID string    `json:"canonical_id"`
	Created     time.Time `json:"created"`
}

type inlinePolicy struct {
	Name     string `json:"name"`
	Document string `json:"doc"`
}

// holder is what users, groups and roles share: their policies.
type holder struct {
	Inline   []inlinePolicy `json:"inline,omitempty"`
	Attached []string       `json:"attached,omitempty"` // managed policy ARNs
}

func (h *holder) inlineSize(except string) int {
	n := 0
	for _, p := range h.Inline {
		if p.Name != except {
			n += iamSize(p.Document)
		}
	}
	return n
}

type loginProfile struct {
	Hash          string    `json:"hash"` // PHC-formatted argon2id
	Created       time.Time `json:"created"`
	ResetRequired bool      `json:"reset_required,omitempty"`
}

type userRecord struct {
	Name     string        `json:"name"`
	Path     string        `json:"path"`
	ID       string        `json:"id"`
	Created  time.Time     `json:"created"`
	Disabled bool          `json:"disabled,omitempty"`
	Tags     []Tag         `json:"tags,omitempty"`
	Keys     []string      `json:"keys,omitempty"`   // access key ids
	Groups   []string      `json:"groups,omitempty"` // lower-cased group names
	Login    *loginProfile `json:"login,omitempty"`
	holder
}

type groupRecord struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Members []string  `json:"members,omitempty"` // lower-cased user names
	holder
}

type roleRecord struct {
	Name               string    `json:"name"`
	Path               string    `json:"path"`
	ID                 string    `json:"id"`
	Created            time.Time `json:"created"`
	Description        string    `json:"description,omitempty"`
	MaxSessionDuration int       `json:"max_session"` // seconds
	Trust              string    `json:"trust"`
	Tags               []Tag     `json:"tags,omitempty"`
	holder
}

type policyVersionRecord struct {
	ID       string    `json:"id"` // "v1", "v2", …, never reused
	Document string    `json:"doc"`
	Created  time.Time `json:"created"`
}

type policyRecord struct {
	Name        string                `json:"name"`
	Path        string                `json:"path"`
	ID          string                `json:"id"`
	Description string                `json:"description,omitempty"`
	Created     time.Time             `json:"created"`
	Updated     time.Time             `json:"updated"`
	Default     string                `json:"default"`
	NextVersion int                   `json:"next_version"`
	Versions    []policyVersionRecord `json:"versions"`
	Attachments int                   `json:"attachments"`
}

func (p *policyRecord) version(id string) *policyVersionRecord {
	for i := range p.Versions {
		if p.Versions[i].ID == id {
			return &p.Versions[i]
		}
	}
	return nil
}

func (p *policyRecord) defaultDocument() string {
	if v := p.version(p.Default); v != nil {
		return v.Document
	}
	return ""
}

type accessKeyRecord struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`    // lower-cased user name
	UserID  string    `json:"user_id"` // the user's unique id: a re-created user does not inherit
	Status  KeyStatus `json:"status"`
	Created time.Time `json:"created"`
	Secret  []byte    `json:"secret"` // sealed (Sealer, purpose secretPurpose)
}

type lastUsedRecord struct {
	When    time.Time `json:"when"`
	Service string    `json:"service"`
	Region  string    `json:"region,omitempty"`
}

// sessionKind says what temporary credentials stand for.
type sessionKind string

const (
	sessionRoot sessionKind = "root" // GetSessionToken by the root user
	sessionUser sessionKind = "user" // GetSessionToken by a user
	sessionRole sessionKind = "role" // AssumeRole
)

type sessionRecord struct {
	ID         string      `json:"id"`
	Kind       sessionKind `json:"kind"`
	Secret     []byte      `json:"secret"`     // sealed
	TokenHash  []byte      `json:"token_hash"` // SHA-256 of the session token
	Created    time.Time   `json:"created"`
	Expiration time.Time   `json:"expiration"`
	// User/UserID: the user the session stands for (user sessions) or the
	// user at the start of the chain that assumed the role (role sessions;
	// empty when that was the root user). The session dies with that user.
	User   string `json:"user,omitempty"`
	UserID string `json:"user_id,omitempty"`
	// Role sessions.
	Role           string   `json:"role,omitempty"` // lower-cased role name
	RoleID         string   `json:"role_id,omitempty"`
	SessionName    string   `json:"session_name,omitempty"`
	Policy         string   `json:"policy,omitempty"`      // inline session policy
	PolicyARNs     []string `json:"policy_arns,omitempty"` // managed session policies
	Tags           []Tag    `json:"tags,omitempty"`
	SourceIdentity string   `json:"source_identity,omitempty"`
	Chained        bool     `json:"chained,omitempty"` // assumed with role-session credentials
}

func secretPurpose(accessKeyID string) string { return "iam/secret/" + accessKeyID }
