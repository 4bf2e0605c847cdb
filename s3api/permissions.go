package s3api

import "github.com/filesphere/filesphere/iam/policy"

// This file is the one table of what each routed operation needs: the IAM
// action and the resource it acts on (the AWS service authorization
// reference for S3). New refuses to start if a routed operation has no
// entry, so an operation cannot be added without its permission.

// scope is what an operation acts on; it decides the resource ARN.
type scope uint8

const (
	// scopeSigned: any authenticated caller; no action (operations that
	// only answer NotImplemented or MethodNotAllowed).
	scopeSigned scope = iota
	// scopeAccount: the account as a whole, resource arn:aws:s3:::*
	// (ListBuckets, the admin API).
	scopeAccount
	// scopeBucket: arn:aws:s3:::BUCKET.
	scopeBucket
	// scopeObject: arn:aws:s3:::BUCKET/KEY.
	scopeObject
	// scopeEachKey: the handler authorizes every key it names, before it
	// acts on any (DeleteObjects).
	scopeEachKey
	// scopeQuery: the IAM and STS Query APIs authorize per action.
	scopeQuery
	// scopeOwn: the operation authenticates and authorizes by its own
	// means, never by SigV4 (the OAuth endpoints: client authentication,
	// PKCE, the login form; oauth.go).
	scopeOwn
)

// permission is one row of the table.
type permission struct {
	action string
	// versioned is the action when the request names a version
	// (?versionId=): s3:GetObjectVersion for s3:GetObject, ….
	versioned string
	scope     scope
	// copySource: the operation also reads x-amz-copy-source, which needs
	// s3:GetObject (s3:GetObjectVersion with a versionId) on the source.
	copySource bool
	// aclAction is what an ACL in the request's headers (x-amz-acl,
	// x-amz-grant-*) needs besides action.
	aclAction string
	// tagging: x-amz-tagging needs s3:PutObjectTagging too.
	tagging bool
}

// anyResource is the resource of account-wide actions: it matches both
// "*" and "arn:aws:s3:::*" in a policy.
const anyResource = "arn:aws:s3:::*"

var permissions = map[Operation]permission{
	OpListBuckets: {action: "s3:ListAllMyBuckets", scope: scopeAccount},
	// The content lookup needs its own action on the account, and then
	// shows only the versions the caller may read (findhash.go).
	OpFindBySHA256:         {action: FindBySHA256Action, scope: scopeAccount},
	OpCreateBucket:         {action: "s3:CreateBucket", scope: scopeBucket, aclAction: "s3:PutBucketAcl"},
	OpHeadBucket:           {action: "s3:ListBucket", scope: scopeBucket},
	OpDeleteBucket:         {action: "s3:DeleteBucket", scope: scopeBucket},
	OpGetBucketLocation:    {action: "s3:GetBucketLocation", scope: scopeBucket},
	OpGetBucketVersioning:  {action: "s3:GetBucketVersioning", scope: scopeBucket},
	OpPutBucketVersioning:  {action: "s3:PutBucketVersioning", scope: scopeBucket},
	OpGetBucketACL:         {action: "s3:GetBucketAcl", scope: scopeBucket},
	OpPutBucketACL:         {action: "s3:PutBucketAcl", scope: scopeBucket},
	OpListObjectsV1:        {action: "s3:ListBucket", scope: scopeBucket},
	OpListObjectsV2:        {action: "s3:ListBucket", scope: scopeBucket},
	OpListObjectVersions:   {action: "s3:ListBucketVersions", scope: scopeBucket},
	OpListMultipartUploads: {action: "s3:ListBucketMultipartUploads", scope: scopeBucket},
	OpDeleteObjects:        {action: "s3:DeleteObject", versioned: "s3:DeleteObjectVersion", scope: scopeEachKey},

	OpGetBucketPolicy:               {action: "s3:GetBucketPolicy", scope: scopeBucket},
	OpPutBucketPolicy:               {action: "s3:PutBucketPolicy", scope: scopeBucket},
	OpDeleteBucketPolicy:            {action: "s3:DeleteBucketPolicy", scope: scopeBucket},
	OpGetBucketPolicyStatus:         {action: "s3:GetBucketPolicyStatus", scope: scopeBucket},
	OpGetPublicAccessBlock:          {action: "s3:GetBucketPublicAccessBlock", scope: scopeBucket},
	OpPutPublicAccessBlock:          {action: "s3:PutBucketPublicAccessBlock", scope: scopeBucket},
	OpDeletePublicAccessBlock:       {action: "s3:PutBucketPublicAccessBlock", scope: scopeBucket},
	OpGetBucketOwnershipControls:    {action: "s3:GetBucketOwnershipControls", scope: scopeBucket},
	OpPutBucketOwnershipControls:    {action: "s3:PutBucketOwnershipControls", scope: scopeBucket},
	OpDeleteBucketOwnershipControls: {action: "s3:PutBucketOwnershipControls", scope: scopeBucket},

	OpPutObject:               {action: "s3:PutObject", scope: scopeObject, aclAction: "s3:PutObjectAcl", tagging: true},
	OpCopyObject:              {action: "s3:PutObject", scope: scopeObject, copySource: true, aclAction: "s3:PutObjectAcl", tagging: true},
	OpGetObject:               {action: "s3:GetObject", versioned: "s3:GetObjectVersion", scope: scopeObject},
	OpHeadObject:              {action: "s3:GetObject", versioned: "s3:GetObjectVersion", scope: scopeObject},
	OpDeleteObject:            {action: "s3:DeleteObject", versioned: "s3:DeleteObjectVersion", scope: scopeObject},
	OpGetObjectACL:            {action: "s3:GetObjectAcl", versioned: "s3:GetObjectVersionAcl", scope: scopeObject},
	OpPutObjectACL:            {action: "s3:PutObjectAcl", versioned: "s3:PutObjectVersionAcl", scope: scopeObject},
	OpCreateMultipartUpload:   {action: "s3:PutObject", scope: scopeObject, aclAction: "s3:PutObjectAcl", tagging: true},
	OpUploadPart:              {action: "s3:PutObject", scope: scopeObject},
	OpUploadPartCopy:          {action: "s3:PutObject", scope: scopeObject, copySource: true},
	OpCompleteMultipartUpload: {action: "s3:PutObject", scope: scopeObject},
	OpAbortMultipartUpload:    {action: "s3:AbortMultipartUpload", scope: scopeObject},
	OpListParts:               {action: "s3:ListMultipartUploadParts", scope: scopeObject},

	OpGetObjectAttributes:   {action: "s3:GetObjectAttributes", versioned: "s3:GetObjectVersionAttributes", scope: scopeObject},
	OpPutObjectTagging:      {action: "s3:PutObjectTagging", versioned: "s3:PutObjectVersionTagging", scope: scopeObject},
	OpGetObjectTagging:      {action: "s3:GetObjectTagging", versioned: "s3:GetObjectVersionTagging", scope: scopeObject},
	OpDeleteObjectTagging:   {action: "s3:DeleteObjectTagging", versioned: "s3:DeleteObjectVersionTagging", scope: scopeObject},
	OpPutBucketTagging:      {action: "s3:PutBucketTagging", scope: scopeBucket},
	OpGetBucketTagging:      {action: "s3:GetBucketTagging", scope: scopeBucket},
	OpDeleteBucketTagging:   {action: "s3:PutBucketTagging", scope: scopeBucket},
	OpPutObjectLockConfig:   {action: "s3:PutBucketObjectLockConfiguration", scope: scopeBucket},
	OpGetObjectLockConfig:   {action: "s3:GetBucketObjectLockConfiguration", scope: scopeBucket},
	OpPutObjectRetention:    {action: "s3:PutObjectRetention", scope: scopeObject},
	OpGetObjectRetention:    {action: "s3:GetObjectRetention", scope: scopeObject},
	OpPutObjectLegalHold:    {action: "s3:PutObjectLegalHold", scope: scopeObject},
	OpGetObjectLegalHold:    {action: "s3:GetObjectLegalHold", scope: scopeObject},
	OpPutBucketCors:         {action: "s3:PutBucketCORS", scope: scopeBucket},
	OpGetBucketCors:         {action: "s3:GetBucketCORS", scope: scopeBucket},
	OpDeleteBucketCors:      {action: "s3:PutBucketCORS", scope: scopeBucket},
	OpPutBucketLifecycle:    {action: "s3:PutLifecycleConfiguration", scope: scopeBucket},
	OpGetBucketLifecycle:    {action: "s3:GetLifecycleConfiguration", scope: scopeBucket},
	OpDeleteBucketLifecycle: {action: "s3:PutLifecycleConfiguration", scope: scopeBucket},
	// DeleteBucketEncryption needs the put action, as in S3.
	OpPutBucketEncryption:    {action: "s3:PutEncryptionConfiguration", scope: scopeBucket},
	OpGetBucketEncryption:    {action: "s3:GetEncryptionConfiguration", scope: scopeBucket},
	OpDeleteBucketEncryption: {action: "s3:PutEncryptionConfiguration", scope: scopeBucket},
	// A browser form upload writes the key its form names (PostObject
	// authorizes once the form is read).
	OpPostObject: {action: "s3:PutObject", scope: scopeObject, aclAction: "s3:PutObjectAcl"},

	OpNotImplemented:   {scope: scopeSigned},
	OpMethodNotAllowed: {scope: scopeSigned},
	OpAdminUnknown:     {scope: scopeSigned},
	OpIAM:              {scope: scopeQuery},
	OpSTS:              {scope: scopeQuery},
	OpOAuth:            {scope: scopeOwn},

	// Asking about oneself needs no permission (authzcheck.go).
	OpAuthzCheck: {scope: scopeSigned},
}

// permissionOf returns the row of op. The admin operations' actions live
// in their own table (admin.go).
func permissionOf(op Operation) (permission, bool) {
	if action, ok := AdminAction(op); ok {
		return permission{action: action, scope: scopeAccount}, true
	}
	p, ok := permissions[op]
	return p, ok
}

// actionFor is the action of p for a request naming version (or none).
func (p permission) actionFor(version bool) string {
	if version && p.versioned != "" {
		return p.versioned
	}
	return p.action
}

// resourceFor is the ARN an operation of scope sc acts on.
func resourceFor(sc scope, bucket, key string) string {
	switch sc {
	case scopeBucket:
		return policy.S3BucketARN(bucket)
	case scopeObject, scopeEachKey:
		return policy.S3ObjectARN(bucket, key)
	}
	return anyResource
}

// missingPermissions lists the routed operations without a row.
func missingPermissions(ops map[Operation]handlerFunc) []Operation {
	var out []Operation
	for op := range ops {
		if _, ok := permissionOf(op); !ok {
			out = append(out, op)
		}
	}
	for _, op := range []Operation{OpNotImplemented, OpMethodNotAllowed, OpIAM, OpSTS, OpPostObject, OpOAuth} {
		if _, ok := permissionOf(op); !ok {
			out = append(out, op)
		}
	}
	return out
}
