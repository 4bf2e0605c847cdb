// Package iam is the account's identities and access decisions: the root
// user, IAM users, groups, roles, access keys, temporary credentials
// (GetSessionToken, AssumeRole), managed and inline identity policies, and
// Authorize, which combines them with a resource (bucket) policy through
// policy.Decide. Everything is stored in a meta.KV under meta.PrefixIAM
// (layout in keys.go), so every node sees a key the moment it is created
// and a change within the time its replica takes to apply it.
//
// # Wiring (cmd)
//
//	svc, err := iam.New(ctx, cfg, kv, sealer) // kv: *meta.RaftKV (or *meta.Local); sealer: the KMS
//	defer svc.Close()                         // writes pending key last-used times
//
// cfg.Root is today's root key (access key id + secret), kept out of the KV.
// The account id is generated (or taken from cfg.AccountID) at the first
// start and stored, so it is the same on every node; Account() returns it
// with the canonical id (64 hex) for S3 Owner and ACL fields.
//
// # Per request (s3api, and the IAM/STS Query APIs)
//
//  1. SigV4 lookup: cred, err := svc.Credentials(ctx, accessKeyID) — the
//     secret is cred.SecretAccessKey. Keep cred for the request (the
//     sigv4.Lookup closure can capture it). A cached key costs ~0.1–0.3 µs and
//     no allocation; it never waits for the network.
//  2. After the signature checked: cred.VerifySessionToken(token) with the
//     X-Amz-Security-Token header or query parameter ("" if absent), then
//     svc.RecordAccessKeyUse(accessKeyID, "s3", region) (never blocks).
//  3. Authorize: d, err := svc.Authorize(ctx, iam.AuthRequest{Caller: cred
//     (nil if anonymous), Action: "s3:GetObject", Resource:
//     policy.S3ObjectARN(b, k), ResourceAccount: bucket owner's account id,
//     ResourcePolicy: the bucket's compiled policy (nil if none),
//     ResourcePolicyName: "bucket policy", Context: aws:SourceIp,
//     aws:SecureTransport, s3:prefix, …}). Refuse unless d.Allowed(); log
//     d.String(). A non-nil err means the credential stopped holding
//     between the two calls (same mapping as step 1) or the KV failed.
//     An operation that needs several actions calls Authorize per action.
//     For GetBucketPolicy/PutBucketPolicy/DeleteBucketPolicy by the bucket
//     owner's root, leave ResourcePolicy nil (see policy.Decide).
//
// GetCallerIdentity is cred.Principal (Account, ARN, UserID). The IAM API
// handlers call the management methods (CreateUser, …); their name
// arguments are case-insensitive as in AWS. PutUserPolicy, PutGroupPolicy,
// PutRolePolicy (and Get/Delete/List…, Attach/Detach/ListAttached…) map to
// PutInlinePolicy etc. with UserEntity, GroupEntity, RoleEntity. List calls
// take ListOptions{PathPrefix, Marker, MaxItems} and return the next
// marker ("" = IsTruncated false).
//
// # Errors
//
// Caller errors are *Error, matched with errors.Is on the Kind sentinels;
// Error() is the AWS-worded message. ErrNoSuchEntity → NoSuchEntity 404,
// ErrEntityAlreadyExists → EntityAlreadyExists 409, ErrDeleteConflict →
// DeleteConflict 409, ErrLimitExceeded → LimitExceeded 409,
// ErrMalformedPolicyDocument → MalformedPolicyDocument 400 (errors.As
// reaches the *policy.Error), ErrValidation → ValidationError 400,
// ErrInvalidInput → InvalidInput 400, ErrPasswordPolicyViolation →
// PasswordPolicyViolation 400, ErrConcurrentModification →
// ConcurrentModification 409, ErrAccessDenied → AccessDenied 403. The
// authentication errors: ErrInvalidAccessKeyID and ErrAccessKeyInactive →
// S3 InvalidAccessKeyId 403 (IAM/STS InvalidClientTokenId 403);
// ErrUserDisabled → AccessDenied 403; ErrExpiredToken → S3 ExpiredToken
// 400 (STS ExpiredToken 403); ErrInvalidToken → S3 InvalidToken 400
// (IAM/STS InvalidClientTokenId 403). Anything else is InternalError.
//
// # Design decisions
//
//   - Consistency: every IAM write also bumps the key i/gen; its revision
//     is the IAM generation. Caches (credentials, refusals) are valid for
//     one generation and read it from the local replica at most every
//     GenerationCheckInterval (10 ms). So a disabled user, deactivated or
//     deleted key, or changed policy counts on a node as soon as its replica
//     applied the write plus ≤ 10 ms, and on the node that made the change
//     at once (until its replica caught up, it reads leader-confirmed). A
//     key unknown to the local replica is looked up once leader-confirmed
//     (at most MaxConsistentReads at a time), then refused from a separate
//     small cache, so made-up ids cannot evict real credentials.
//   - Sessions are KV records (one Raft write per GetSessionToken or
//     AssumeRole), not self-contained tokens: any node verifies them with a
//     local read, and they are revocable. A session dies at expiry, when the
//     user it stands for — or, for a role session, the user who began the
//     chain — is disabled, deleted or re-created, and when its role is
//     deleted or re-created. The token is stored as SHA-256 only. Expired
//     records are swept every SessionSweepInterval.
//   - Secrets (access keys, sessions) are sealed by the Sealer with purpose
//     "iam/secret/<key id>" before they reach the KV; passwords are argon2id
//     hashes. Credential, AccessKey, TemporaryCredentials, RootCredentials
//     hide secrets from fmt.
//   - Key last-used times are noted in memory and written at most once per
//     key per LastUsedFlushInterval per node, outside i/gen.
//   - Compiled policies are cached by document text, parsed once.
//   - Deleting an entity that still has dependents is refused as in AWS
//     (DeleteConflict): a user with keys, login profile, policies or groups;
//     a group with members or policies; a role with policies; a policy that
//     is attached or has non-default versions.
//   - AssumeRole: the trust policy is the Resource set of policy.Decide and
//     the caller's own policies the Identity (and Session) sets, so a trust
//     policy naming the caller grants by itself and one naming only the
//     account needs an identity-policy allow. Tags need sts:TagSession, a
//     source identity sts:SetSourceIdentity. Root may not assume roles; a
//     role session assuming a role (chaining) is limited to one hour. A role
//     that does not exist is AccessDenied, as in AWS. AssumeRole adds the
//     sts:* and aws:RequestTag keys to the input Context.
//   - AssumeRoleWithWebIdentity (webidentity.go) takes an identity iam/oauth
//     has verified; iam evaluates the role's trust policy (Federated, the
//     <provider>:sub and :aud keys) or, for the built-in issuer's tokens,
//     issues the user's own session, never past the token's expiry.
//
// Not implemented (the API layer answers NotImplemented or the AWS
// error): renaming users (UpdateUser NewUserName), AWS managed policies
// (arn:aws:iam::aws:policy/… is NoSuchEntity), permissions boundaries,
// MFA, TransitiveTagKeys, GetFederationToken, ListEntitiesForPolicy, instance profiles, signing
// certificates, SSH keys, account-wide quotas (users per account, …).
package iam
