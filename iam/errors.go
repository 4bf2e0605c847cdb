package iam

import (
	"errors"
	"fmt"
)

// Kinds of failure. Every error of a Service method that the caller caused
// is an *Error whose Kind is one of these (match with errors.Is); each
// comment names the AWS error code (and HTTP status) the IAM, STS or S3 API
// answers with. Anything else (a KV or Sealer failure) is internal.
var (
	// Management (IAM Query API).
	ErrNoSuchEntity            = errors.New("iam: no such entity")            // NoSuchEntity 404
	ErrEntityAlreadyExists     = errors.New("iam: entity already exists")     // EntityAlreadyExists 409
	ErrDeleteConflict          = errors.New("iam: entity still in use")       // DeleteConflict 409
	ErrLimitExceeded           = errors.New("iam: limit exceeded")            // LimitExceeded 409
	ErrMalformedPolicyDocument = errors.New("iam: malformed policy document") // MalformedPolicyDocument 400
	ErrValidation              = errors.New("iam: validation error")          // ValidationError 400
	ErrInvalidInput            = errors.New("iam: invalid input")             // InvalidInput 400
	ErrPasswordPolicyViolation = errors.New("iam: password policy violation") // PasswordPolicyViolation 400
	ErrConcurrentModification  = errors.New("iam: concurrent modification")   // ConcurrentModification 409
	ErrAccessDenied            = errors.New("iam: access denied")             // AccessDenied 403 (STS calls)
	ErrNotImplemented          = errors.New("iam: not implemented")           // NotImplemented 501

	// Authentication (Credentials, Credential.VerifySessionToken).
	// S3: InvalidAccessKeyId 403; IAM/STS: InvalidClientTokenId 403.
	ErrInvalidAccessKeyID = errors.New("iam: access key id does not exist")
	// The key exists but is Inactive. Same answers as ErrInvalidAccessKeyID.
	ErrAccessKeyInactive = errors.New("iam: access key is inactive")
	// The user (or the user a session stands for) is disabled.
	// S3: AccessDenied 403; IAM/STS: AccessDenied 403.
	ErrUserDisabled = errors.New("iam: user is disabled")
	// Temporary credentials past their expiry. S3: ExpiredToken 400;
	// IAM/STS: ExpiredToken 403.
	ErrExpiredToken = errors.New("iam: security token expired")
	// The session token is missing, wrong, or given with long-term keys.
	// S3: InvalidToken 400; IAM/STS: InvalidClientTokenId 403.
	ErrInvalidToken = errors.New("iam: security token invalid")
	// AssumeRoleWithWebIdentity (the token checks are iam/oauth's, which
	// answers with these kinds too).
	ErrInvalidIdentityToken = errors.New("iam: invalid web identity token")    // InvalidIdentityToken 400
	ErrExpiredIdentityToken = errors.New("iam: web identity token expired")    // ExpiredTokenException 400
	ErrIDPRejectedClaim     = errors.New("iam: identity provider rejected")    // IDPRejectedClaim 403
	ErrIDPCommunication     = errors.New("iam: identity provider unreachable") // IDPCommunicationError 400

	// VerifyPassword: unknown user, no login profile, disabled user or wrong
	// password, deliberately not told apart.
	ErrLoginFailed = errors.New("iam: user name or password incorrect")
)

// Error is a failure the caller caused: Kind says which (one of the Err*
// sentinels), Message is the text for the API response, worded as AWS words
// it, and Err the underlying cause if any (e.g. a *policy.Error).
type Error struct {
	Kind    error
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match Kind and errors.As reach Err.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// EntityType names a kind of IAM entity.
type EntityType uint8

// Entity types.
const (
	EntityUser EntityType = iota + 1
	EntityGroup
	EntityRole
	EntityPolicy
	EntityAccessKey
	EntityLoginProfile
	EntityPolicyVersion
)

func (t EntityType) String() string {
	switch t {
	case EntityUser:
		return "user"
	case EntityGroup:
		return "group"
	case EntityRole:
		return "role"
	case EntityPolicy:
		return "policy"
	case EntityAccessKey:
		return "access key"
	case EntityLoginProfile:
		return "login profile"
	case EntityPolicyVersion:
		return "policy version"
	}
	return fmt.Sprintf("EntityType(%d)", uint8(t))
}

func noSuch(t EntityType, name string) *Error {
	switch t {
	case EntityUser, EntityGroup, EntityRole:
		return newErr(ErrNoSuchEntity, "The %s with name %s cannot be found.", t, name)
	case EntityPolicy:
		return newErr(ErrNoSuchEntity, "Policy %s does not exist or is not attachable.", name)
	case EntityAccessKey:
		return newErr(ErrNoSuchEntity, "The Access Key with id %s cannot be found.", name)
	case EntityLoginProfile:
		return newErr(ErrNoSuchEntity, "Login Profile for User %s cannot be found.", name)
	}
	return newErr(ErrNoSuchEntity, "The %s %s cannot be found.", t, name)
}

func alreadyExists(t EntityType, name string) *Error {
	switch t {
	case EntityUser:
		return newErr(ErrEntityAlreadyExists, "User with name %s already exists.", name)
	case EntityGroup:
		return newErr(ErrEntityAlreadyExists, "Group with name %s already exists.", name)
	case EntityRole:
		return newErr(ErrEntityAlreadyExists, "Role with name %s already exists.", name)
	case EntityPolicy:
		return newErr(ErrEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", name)
	case EntityLoginProfile:
		return newErr(ErrEntityAlreadyExists, "Login Profile for user %s already exists.", name)
	}
	return newErr(ErrEntityAlreadyExists, "The %s %s already exists.", t, name)
}

func conflict(format string, args ...any) *Error {
	return newErr(ErrDeleteConflict, format, args...)
}

func quota(name string, limit int) *Error {
	return newErr(ErrLimitExceeded, "Cannot exceed quota for %s: %d", name, limit)
}

func invalid(format string, args ...any) *Error { return newErr(ErrInvalidInput, format, args...) }

// constraint is a ValidationError in AWS's wording.
func constraint(value, field, rule string) *Error {
	return newErr(ErrValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, rule)
}

func malformed(err error) *Error {
	return &Error{Kind: ErrMalformedPolicyDocument, Message: err.Error(), Err: err}
}

// authErr wraps an authentication sentinel with the access key id (never a
// secret) for logs.
func authErr(kind error, accessKeyID string) error {
	return &Error{Kind: kind, Message: fmt.Sprintf("%s: %s", kind.Error(), accessKeyID)}
}
