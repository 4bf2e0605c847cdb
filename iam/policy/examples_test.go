package policy

import (
	"testing"
	"time"
)

// The policies below restate, in our own structure, examples from the AWS
// documentation: the S3 user guide "Bucket policy examples", the IAM user
// guide "IAM JSON policy elements", "IAM identity-based policy examples"
// (home folders, IP ranges, MFA, dates, tags) and "Policy evaluation
// logic". Each case is a policy set, a request and the expected decision.

const bucket = "arn:aws:s3:::corp-bucket"

// Home folders with ${aws:username}: list the bucket root, "home/" and
// one's own folder; read and write only inside one's own folder.
const homeFolders = `{"Version":"2012-10-17","Statement":[
 {"Sid":"ListOwnFolder","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::corp-bucket",
  "Condition":{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}},
 {"Sid":"UseOwnFolder","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],
  "Resource":"arn:aws:s3:::corp-bucket/home/${aws:username}/*"}]}`

// The same policy in the 2008 language: the variables are literal text.
const homeFolders2008 = `{"Version":"2008-10-17","Statement":[
 {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-bucket/home/${aws:username}/*"}]}`

const allowAllS3 = `{"Version":"2012-10-17","Statement":{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}}`

// Bucket policy: deny everything from outside the company's ranges.
const ipFence = `{"Version":"2012-10-17","Statement":[{"Sid":"office-only","Effect":"Deny","Principal":"*","Action":"s3:*",
 "Resource":["arn:aws:s3:::corp-bucket","arn:aws:s3:::corp-bucket/*"],
 "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:DB8:1234:5678::/64"]}}}]}`

// Bucket policy: deny requests not made over TLS.
const tlsOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"tls-only","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*",
 "Resource":["arn:aws:s3:::corp-bucket","arn:aws:s3:::corp-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`

// Identity policy: allow deletes only with MFA; deny everything without
// MFA where the key is missing (long-term keys) by BoolIfExists.
const mfaAllow = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"*",
 "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
const mfaDenyIfExists = `{"Version":"2012-10-17","Statement":[{"Sid":"NoMFA","Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*",
 "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`

// Identity policy: a date window.
const dateWindow = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
 "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}}]}`

// Tag keys: only the allowed keys may be set; the Null test closes the
// "no tags at all" hole that ForAllValues alone leaves open.
const tagKeysAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*",
 "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}}]}`
const tagKeysAllNonEmpty = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*",
 "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]},"Null":{"aws:TagKeys":"false"}}}]}`
const tagKeysAny = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*",
 "Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"environment"}}}]}`

// NotPrincipal with Deny: everyone but Bob (his account listed too).
const notPrincipalBob = `{"Version":"2012-10-17","Statement":[{"Sid":"only-bob","Effect":"Deny",
 "NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:root"]},
 "Action":"s3:*","Resource":["arn:aws:s3:::corp-bucket","arn:aws:s3:::corp-bucket/*"]}]}`

// The mistake AWS warns of: Bob listed without his account.
const notPrincipalBobOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"only-bob","Effect":"Deny",
 "NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/*"}]}`

// NotPrincipal for a role session: session, role and account listed.
const notPrincipalSession = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":[
 "arn:aws:sts::111122223333:assumed-role/Auditor/audit-app","arn:aws:iam::111122223333:role/Auditor","111122223333"]},
 "Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/*"}]}`
const notPrincipalRole = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":[
 "arn:aws:iam::111122223333:role/Auditor","111122223333"]},"Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/*"}]}`

// NotAction: everything except IAM.
const allButIAM = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`

// NotResource with Deny: nothing outside one bucket.
const onlyOneBucket = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"s3:*","Resource":"*"},
 {"Sid":"OnlyCorp","Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::corp-bucket","arn:aws:s3:::corp-bucket/*"]}]}`

// Actions match case-insensitively, resources do not.
const mixedCase = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"S3:getobject","Resource":"arn:aws:s3:::corp-bucket/Reports/*"}}`

// ? matches exactly one character.
const monthlyLogs = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-bucket/logs/2024-0?/*"}}`

// Bucket policy: uploads must ask for SSE-S3 (StringNotEquals denies a
// missing header too), and a variant with a Null test.
const requireSSE = `{"Version":"2012-10-17","Statement":[{"Sid":"sse-aes","Effect":"Deny","Principal":"*","Action":"s3:PutObject",
 "Resource":"arn:aws:s3:::corp-bucket/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}}]}`
const requireSSEHeader = `{"Version":"2012-10-17","Statement":[{"Sid":"sse-present","Effect":"Deny","Principal":"*","Action":"s3:PutObject",
 "Resource":"arn:aws:s3:::corp-bucket/*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}]}`
const sseIfExists = `{"Version":"2012-10-17","Statement":[{"Sid":"sse-kms-if-given","Effect":"Deny","Principal":"*","Action":"s3:PutObject",
 "Resource":"arn:aws:s3:::corp-bucket/*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}`

// Bucket policy: another account may upload if it grants the owner
// full control.
const crossAccountUpload = `{"Version":"2012-10-17","Statement":[{"Sid":"partner-upload","Effect":"Allow",
 "Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::corp-bucket/*",
 "Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`

// Identity policy: list at most 10 keys at a time.
const maxKeys = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::corp-bucket",
 "Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}}`

// Identity policy: a folder per team tag, with a shared default.
const teamFolders = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject",
 "Resource":"arn:aws:s3:::corp-bucket/${aws:PrincipalTag/team, 'company-wide'}/*"}}`

// Bucket policy: nobody but Admin* roles may delete the bucket.
const adminsOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"deny-deletes","Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket",
 "Resource":"arn:aws:s3:::corp-bucket","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Admin*"}}}]}`

// Bucket policy: public read of one bucket.
const publicRead = `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*",
 "Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::corp-bucket/public/*"}]}`

// Bucket policy: only from our site (aws:Referer).
const refererOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
 "Resource":"arn:aws:s3:::corp-bucket/*","Condition":{"StringLike":{"aws:Referer":["https://www.example.com/*","https://example.com/*"]}}}]}`

// Bucket policy: signatures older than 10 minutes and presigned URLs refused.
const signatureRules = `{"Version":"2012-10-17","Statement":[
 {"Sid":"fresh-signatures","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/*",
  "Condition":{"NumericGreaterThan":{"s3:signatureAge":"600000"}}},
 {"Sid":"header-auth-only","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/*",
  "Condition":{"StringNotEquals":{"s3:authType":"REST-HEADER"}}}]}`

// Bucket policy grants to a user, to the account, to a role, to a session.
const grantUser = `{"Version":"2012-10-17","Statement":[{"Sid":"alice-read","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-bucket/*"}]}`
const grantAccount = `{"Version":"2012-10-17","Statement":[{"Sid":"account-read","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-bucket/*"}]}`
const grantRole = `{"Version":"2012-10-17","Statement":[{"Sid":"role-write","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Writer"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::corp-bucket/*"}]}`
const grantSession = `{"Version":"2012-10-17","Statement":[{"Sid":"session-write","Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/Writer/job-7"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::corp-bucket/*"}]}`
const denyAllDeletes = `{"Version":"2012-10-17","Statement":[{"Sid":"deny-deletes","Effect":"Deny","Principal":"*","Action":"s3:Delete*","Resource":"arn:aws:s3:::corp-bucket/*"}]}`

// Session policy that narrows a role to reads.
const sessionReadOnly = `{"Version":"2012-10-17","Statement":{"Sid":"ReadOnly","Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`
const sessionDenyLogs = `{"Version":"2012-10-17","Statement":{"Sid":"NoLogs","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/logs/*"}}`

// Escapes: a literal * in a key.
const literalStar = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-bucket/odd${*}name"}}`

type exampleCase struct {
	name     string
	identity []string
	session  []string
	bucket   string
	req      Request
	want     Effect
	reason   Reason
	sid      string // deciding statement, when one decides
}

func TestAWSExamples(t *testing.T) {
	alice, bob, carol := testUser("alice"), testUser("bob"), testUser("carol")
	partner := testUserIn(otherAcct, "uploader")
	writer := testSession("Writer", "job-7")
	auditor := testSession("Auditor", "audit-app")
	admin := testSession("AdminOps", "s")
	blue := testUser("dana")
	blue.Tags = map[string]string{"Team": "blue"}
	obj := func(key string) string { return bucket + "/" + key }
	crossReq := func(r Request) Request { r.ResourceAccount = acct; return r }

	cases := []exampleCase{
		// Home folders.
		{"home: own object", []string{homeFolders}, nil, "", rq(alice, "s3:GetObject", obj("home/alice/notes.txt")), Allow, ReasonAllowed, "UseOwnFolder"},
		{"home: someone else's object", []string{homeFolders}, nil, "", rq(alice, "s3:GetObject", obj("home/bob/notes.txt")), Deny, ReasonImplicitDeny, ""},
		{"home: list own folder", []string{homeFolders}, nil, "", rq(alice, "s3:ListBucket", bucket, "s3:prefix", "home/alice/"), Allow, ReasonAllowed, "ListOwnFolder"},
		{"home: list root", []string{homeFolders}, nil, "", rq(alice, "s3:ListBucket", bucket, "s3:prefix", ""), Allow, ReasonAllowed, "ListOwnFolder"},
		{"home: list other folder", []string{homeFolders}, nil, "", rq(alice, "s3:ListBucket", bucket, "s3:prefix", "home/bob/"), Deny, ReasonImplicitDeny, ""},
		{"home: list without prefix key", []string{homeFolders}, nil, "", rq(alice, "s3:ListBucket", bucket), Deny, ReasonImplicitDeny, ""},
		{"home: no username for a role session", []string{homeFolders}, nil, "", rq(writer, "s3:GetObject", obj("home//x")), Deny, ReasonImplicitDeny, ""},
		{"home 2008: variable is literal", []string{homeFolders2008}, nil, "", rq(alice, "s3:GetObject", obj("home/alice/x")), Deny, ReasonImplicitDeny, ""},
		{"home 2008: literal key matches", []string{homeFolders2008}, nil, "", rq(alice, "s3:GetObject", obj("home/${aws:username}/x")), Allow, ReasonAllowed, ""},

		// IP fence.
		{"ip: inside v4 range", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a"), "aws:SourceIp", "192.0.2.7"), Allow, ReasonAllowed, "S3"},
		{"ip: outside v4 range", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a"), "aws:SourceIp", "203.0.113.9"), Deny, ReasonExplicitDeny, "office-only"},
		{"ip: inside v6 range", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a"), "aws:SourceIp", "2001:db8:1234:5678::1"), Allow, ReasonAllowed, "S3"},
		{"ip: outside v6 range", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a"), "aws:SourceIp", "2001:db8:1234:9999::1"), Deny, ReasonExplicitDeny, "office-only"},
		{"ip: v4-mapped address", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a"), "aws:SourceIp", "::ffff:192.0.2.7"), Allow, ReasonAllowed, "S3"},
		{"ip: missing source ip is outside", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a")), Deny, ReasonExplicitDeny, "office-only"},
		{"ip: garbage source ip fails closed", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", obj("a"), "aws:SourceIp", "localhost"), Deny, ReasonExplicitDeny, "office-only"},
		{"ip: other bucket unaffected", []string{allowAllS3}, nil, ipFence, rq(alice, "s3:GetObject", "arn:aws:s3:::other/a", "aws:SourceIp", "203.0.113.9"), Allow, ReasonAllowed, "S3"},
		{"ip: root is denied too", nil, nil, ipFence, rq(testRoot(), "s3:GetObject", obj("a"), "aws:SourceIp", "203.0.113.9"), Deny, ReasonExplicitDeny, "office-only"},

		// TLS only.
		{"tls: https", []string{allowAllS3}, nil, tlsOnly, rq(alice, "s3:PutObject", obj("a"), "aws:SecureTransport", "true"), Allow, ReasonAllowed, "S3"},
		{"tls: http", []string{allowAllS3}, nil, tlsOnly, rq(alice, "s3:PutObject", obj("a"), "aws:SecureTransport", "false"), Deny, ReasonExplicitDeny, "tls-only"},
		{"tls: http, odd case", []string{allowAllS3}, nil, tlsOnly, rq(alice, "s3:PutObject", obj("a"), "aws:SecureTransport", "False"), Deny, ReasonExplicitDeny, "tls-only"},
		{"tls: non-bool fails closed", []string{allowAllS3}, nil, tlsOnly, rq(alice, "s3:PutObject", obj("a"), "aws:SecureTransport", "no"), Deny, ReasonExplicitDeny, "tls-only"},
		{"tls: key absent, Bool is false, no deny", []string{allowAllS3}, nil, tlsOnly, rq(alice, "s3:PutObject", obj("a")), Allow, ReasonAllowed, "S3"},

		// MFA.
		{"mfa: present", []string{mfaAllow}, nil, "", rq(alice, "s3:DeleteObject", obj("a"), "aws:MultiFactorAuthPresent", "true"), Allow, ReasonAllowed, ""},
		{"mfa: absent", []string{mfaAllow}, nil, "", rq(alice, "s3:DeleteObject", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"mfa IfExists: absent denies", []string{allowAllS3, mfaDenyIfExists}, nil, "", rq(alice, "s3:DeleteBucket", bucket), Deny, ReasonExplicitDeny, "NoMFA"},
		{"mfa IfExists: present true", []string{allowAllS3, mfaDenyIfExists}, nil, "", rq(alice, "s3:DeleteBucket", bucket, "aws:MultiFactorAuthPresent", "true"), Allow, ReasonAllowed, "S3"},
		{"mfa IfExists: present false", []string{allowAllS3, mfaDenyIfExists}, nil, "", rq(alice, "s3:DeleteBucket", bucket, "aws:MultiFactorAuthPresent", "false"), Deny, ReasonExplicitDeny, "NoMFA"},

		// Date window.
		{"date: inside", []string{dateWindow}, nil, "", rq(alice, "s3:GetObject", obj("a")), Allow, ReasonAllowed, ""},
		{"date: before", []string{dateWindow}, nil, "", at(rq(alice, "s3:GetObject", obj("a")), time.Date(2020, 3, 31, 23, 0, 0, 0, time.UTC)), Deny, ReasonImplicitDeny, ""},
		{"date: after", []string{dateWindow}, nil, "", at(rq(alice, "s3:GetObject", obj("a")), time.Date(2020, 7, 1, 0, 0, 0, 0, time.UTC)), Deny, ReasonImplicitDeny, ""},
		{"date: no clock", []string{dateWindow}, nil, "", at(rq(alice, "s3:GetObject", obj("a")), time.Time{}), Deny, ReasonImplicitDeny, ""},
		{"date: context cannot fake the clock", []string{dateWindow}, nil, "", at(rq(alice, "s3:GetObject", obj("a"), "aws:CurrentTime", "2020-05-01T00:00:00Z"), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)), Deny, ReasonImplicitDeny, ""},

		// Tag keys.
		{"tags all: subset", []string{tagKeysAll}, nil, "", with(rq(alice, "s3:PutObjectTagging", obj("a")), "aws:TagKeys", "environment"), Allow, ReasonAllowed, ""},
		{"tags all: one extra", []string{tagKeysAll}, nil, "", with(rq(alice, "s3:PutObjectTagging", obj("a")), "aws:TagKeys", "environment", "owner"), Deny, ReasonImplicitDeny, ""},
		{"tags all: no tags is allowed", []string{tagKeysAll}, nil, "", rq(alice, "s3:PutObjectTagging", obj("a")), Allow, ReasonAllowed, ""},
		{"tags all+null: no tags refused", []string{tagKeysAllNonEmpty}, nil, "", rq(alice, "s3:PutObjectTagging", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"tags all+null: subset", []string{tagKeysAllNonEmpty}, nil, "", with(rq(alice, "s3:PutObjectTagging", obj("a")), "aws:TagKeys", "cost-center", "environment"), Allow, ReasonAllowed, ""},
		{"tags any: none", []string{tagKeysAny}, nil, "", rq(alice, "s3:PutObjectTagging", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"tags any: one of them", []string{tagKeysAny}, nil, "", with(rq(alice, "s3:PutObjectTagging", obj("a")), "aws:TagKeys", "owner", "environment"), Allow, ReasonAllowed, ""},
		{"tags any: case-sensitive values", []string{tagKeysAny}, nil, "", with(rq(alice, "s3:PutObjectTagging", obj("a")), "aws:TagKeys", "Environment"), Deny, ReasonImplicitDeny, ""},

		// NotPrincipal.
		{"notprincipal: bob excluded", []string{allowAllS3}, nil, notPrincipalBob, rq(bob, "s3:GetObject", obj("a")), Allow, ReasonAllowed, "S3"},
		{"notprincipal: carol denied", []string{allowAllS3}, nil, notPrincipalBob, rq(carol, "s3:GetObject", obj("a")), Deny, ReasonExplicitDeny, "only-bob"},
		{"notprincipal: other account denied", []string{allowAllS3}, nil, notPrincipalBob, crossReq(rq(partner, "s3:GetObject", obj("a"))), Deny, ReasonExplicitDeny, "only-bob"},
		{"notprincipal: anonymous denied", nil, nil, notPrincipalBob, rq(Principal{}, "s3:GetObject", obj("a")), Deny, ReasonExplicitDeny, "only-bob"},
		{"notprincipal: root of listed account", nil, nil, notPrincipalBob, rq(testRoot(), "s3:GetObject", obj("a")), Allow, ReasonRoot, ""},
		{"notprincipal: account missing, bob denied", []string{allowAllS3}, nil, notPrincipalBobOnly, rq(bob, "s3:GetObject", obj("a")), Deny, ReasonExplicitDeny, "only-bob"},
		{"notprincipal: session fully listed", []string{allowAllS3}, nil, notPrincipalSession, rq(auditor, "s3:GetObject", obj("a")), Allow, ReasonAllowed, "S3"},
		{"notprincipal: session not listed", []string{allowAllS3}, nil, notPrincipalRole, rq(auditor, "s3:GetObject", obj("a")), Deny, ReasonExplicitDeny, ""},
		{"notprincipal: other session of role", []string{allowAllS3}, nil, notPrincipalSession, rq(testSession("Auditor", "other"), "s3:GetObject", obj("a")), Deny, ReasonExplicitDeny, ""},

		// NotAction, NotResource.
		{"notaction: s3 allowed", []string{allButIAM}, nil, "", rq(alice, "s3:GetObject", obj("a")), Allow, ReasonAllowed, ""},
		{"notaction: iam not allowed", []string{allButIAM}, nil, "", rq(alice, "iam:CreateUser", "arn:aws:iam::111122223333:user/x"), Deny, ReasonImplicitDeny, ""},
		{"notaction: case-insensitive", []string{allButIAM}, nil, "", rq(alice, "IAM:createuser", "arn:aws:iam::111122223333:user/x"), Deny, ReasonImplicitDeny, ""},
		{"notresource: inside", []string{onlyOneBucket}, nil, "", rq(alice, "s3:GetObject", obj("a")), Allow, ReasonAllowed, ""},
		{"notresource: outside", []string{onlyOneBucket}, nil, "", rq(alice, "s3:GetObject", "arn:aws:s3:::other/a"), Deny, ReasonExplicitDeny, "OnlyCorp"},
		{"notresource: similar name outside", []string{onlyOneBucket}, nil, "", rq(alice, "s3:GetObject", "arn:aws:s3:::corp-bucket-2/a"), Deny, ReasonExplicitDeny, "OnlyCorp"},

		// Case sensitivity and ?.
		{"case: action folded", []string{mixedCase}, nil, "", rq(alice, "s3:GetObject", obj("Reports/q1")), Allow, ReasonAllowed, ""},
		{"case: resource exact", []string{mixedCase}, nil, "", rq(alice, "s3:GetObject", obj("reports/q1")), Deny, ReasonImplicitDeny, ""},
		{"?: one char", []string{monthlyLogs}, nil, "", rq(alice, "s3:GetObject", obj("logs/2024-03/a")), Allow, ReasonAllowed, ""},
		{"?: two chars", []string{monthlyLogs}, nil, "", rq(alice, "s3:GetObject", obj("logs/2024-11/a")), Deny, ReasonImplicitDeny, ""},
		{"?: no char", []string{monthlyLogs}, nil, "", rq(alice, "s3:GetObject", obj("logs/2024-0/a")), Deny, ReasonImplicitDeny, ""},
		{"${*}: literal star", []string{literalStar}, nil, "", rq(alice, "s3:GetObject", obj("odd*name")), Allow, ReasonAllowed, ""},
		{"${*}: not a wildcard", []string{literalStar}, nil, "", rq(alice, "s3:GetObject", obj("oddXname")), Deny, ReasonImplicitDeny, ""},

		// Encryption headers.
		{"sse: AES256", []string{allowAllS3}, nil, requireSSE, rq(alice, "s3:PutObject", obj("a"), "s3:x-amz-server-side-encryption", "AES256"), Allow, ReasonAllowed, "S3"},
		{"sse: wrong algorithm", []string{allowAllS3}, nil, requireSSE, rq(alice, "s3:PutObject", obj("a"), "s3:x-amz-server-side-encryption", "aws:kms"), Deny, ReasonExplicitDeny, "sse-aes"},
		{"sse: header missing, StringNotEquals denies", []string{allowAllS3}, nil, requireSSE, rq(alice, "s3:PutObject", obj("a")), Deny, ReasonExplicitDeny, "sse-aes"},
		{"sse: Null, missing", []string{allowAllS3}, nil, requireSSEHeader, rq(alice, "s3:PutObject", obj("a")), Deny, ReasonExplicitDeny, "sse-present"},
		{"sse: Null, present", []string{allowAllS3}, nil, requireSSEHeader, rq(alice, "s3:PutObject", obj("a"), "s3:x-amz-server-side-encryption", "AES256"), Allow, ReasonAllowed, "S3"},
		{"sse: IfExists, missing", []string{allowAllS3}, nil, sseIfExists, rq(alice, "s3:PutObject", obj("a")), Deny, ReasonExplicitDeny, "sse-kms-if-given"},
		{"sse: IfExists, kms", []string{allowAllS3}, nil, sseIfExists, rq(alice, "s3:PutObject", obj("a"), "s3:x-amz-server-side-encryption", "aws:kms"), Allow, ReasonAllowed, "S3"},

		// Cross-account upload with an ACL condition.
		{"partner: with acl", []string{allowAllS3}, nil, crossAccountUpload, crossReq(rq(partner, "s3:PutObject", obj("in/a"), "s3:x-amz-acl", "bucket-owner-full-control")), Allow, ReasonAllowed, "partner-upload"},
		{"partner: without acl", []string{allowAllS3}, nil, crossAccountUpload, crossReq(rq(partner, "s3:PutObject", obj("in/a"))), Deny, ReasonCrossAccount, "S3"},
		{"partner: no identity allow", nil, nil, crossAccountUpload, crossReq(rq(partner, "s3:PutObject", obj("in/a"), "s3:x-amz-acl", "bucket-owner-full-control")), Deny, ReasonCrossAccount, "partner-upload"},
		{"partner: other account's root", nil, nil, crossAccountUpload, crossReq(rq(Principal{Type: PrincipalAccount, Account: otherAcct, ARN: "arn:aws:iam::" + otherAcct + ":root"}, "s3:PutObject", obj("in/a"), "s3:x-amz-acl", "bucket-owner-full-control")), Allow, ReasonAllowed, "partner-upload"},
		{"partner: other root, nothing granted", nil, nil, crossAccountUpload, crossReq(rq(Principal{Type: PrincipalAccount, Account: otherAcct}, "s3:GetObject", obj("in/a"))), Deny, ReasonImplicitDeny, ""},

		// max-keys.
		{"max-keys: 5", []string{maxKeys}, nil, "", rq(alice, "s3:ListBucket", bucket, "s3:max-keys", "5"), Allow, ReasonAllowed, ""},
		{"max-keys: 50", []string{maxKeys}, nil, "", rq(alice, "s3:ListBucket", bucket, "s3:max-keys", "50"), Deny, ReasonImplicitDeny, ""},
		{"max-keys: not a number", []string{maxKeys}, nil, "", rq(alice, "s3:ListBucket", bucket, "s3:max-keys", "5x"), Deny, ReasonImplicitDeny, ""},
		{"max-keys: absent", []string{maxKeys}, nil, "", rq(alice, "s3:ListBucket", bucket), Deny, ReasonImplicitDeny, ""},

		// Principal tags in Resource, with a default.
		{"team: own folder", []string{teamFolders}, nil, "", rq(blue, "s3:GetObject", obj("blue/plan")), Allow, ReasonAllowed, ""},
		{"team: other folder", []string{teamFolders}, nil, "", rq(blue, "s3:GetObject", obj("red/plan")), Deny, ReasonImplicitDeny, ""},
		{"team: untagged gets the default", []string{teamFolders}, nil, "", rq(alice, "s3:GetObject", obj("company-wide/handbook")), Allow, ReasonAllowed, ""},
		{"team: tagged does not get the default", []string{teamFolders}, nil, "", rq(blue, "s3:GetObject", obj("company-wide/handbook")), Deny, ReasonImplicitDeny, ""},

		// aws:PrincipalArn.
		{"admins: admin role session", []string{allowAllS3}, nil, adminsOnly, rq(admin, "s3:DeleteBucket", bucket), Allow, ReasonAllowed, "S3"},
		{"admins: user", []string{allowAllS3}, nil, adminsOnly, rq(alice, "s3:DeleteBucket", bucket), Deny, ReasonExplicitDeny, "deny-deletes"},

		// Public read and referer.
		{"public: anonymous read", nil, nil, publicRead, rq(Principal{}, "s3:GetObject", obj("public/logo.png")), Allow, ReasonAllowed, "PublicRead"},
		{"public: anonymous write", nil, nil, publicRead, rq(Principal{}, "s3:PutObject", obj("public/logo.png")), Deny, ReasonImplicitDeny, ""},
		{"public: anonymous outside prefix", nil, nil, publicRead, rq(Principal{}, "s3:GetObject", obj("private/x")), Deny, ReasonImplicitDeny, ""},
		{"public: anonymous, identity policies ignored", []string{allowAllS3}, nil, "", rq(Principal{}, "s3:GetObject", obj("public/logo.png")), Deny, ReasonImplicitDeny, ""},
		{"referer: from site", nil, nil, refererOnly, rq(Principal{}, "s3:GetObject", obj("img"), "aws:Referer", "https://www.example.com/page"), Allow, ReasonAllowed, ""},
		{"referer: elsewhere", nil, nil, refererOnly, rq(Principal{}, "s3:GetObject", obj("img"), "aws:Referer", "https://evil.example/www.example.com/"), Deny, ReasonImplicitDeny, ""},
		{"referer: none", nil, nil, refererOnly, rq(Principal{}, "s3:GetObject", obj("img")), Deny, ReasonImplicitDeny, ""},

		// Signature rules.
		{"sig: fresh header auth", []string{allowAllS3}, nil, signatureRules, rq(alice, "s3:GetObject", obj("a"), "s3:signatureAge", "1200", "s3:authType", "REST-HEADER"), Allow, ReasonAllowed, "S3"},
		{"sig: old", []string{allowAllS3}, nil, signatureRules, rq(alice, "s3:GetObject", obj("a"), "s3:signatureAge", "900000", "s3:authType", "REST-HEADER"), Deny, ReasonExplicitDeny, "fresh-signatures"},
		{"sig: presigned", []string{allowAllS3}, nil, signatureRules, rq(alice, "s3:GetObject", obj("a"), "s3:signatureAge", "10", "s3:authType", "REST-QUERY-STRING"), Deny, ReasonExplicitDeny, "header-auth-only"},

		// Evaluation logic.
		{"eval: explicit deny beats allow", []string{allowAllS3}, nil, denyAllDeletes, rq(alice, "s3:DeleteObject", obj("a")), Deny, ReasonExplicitDeny, "deny-deletes"},
		{"eval: nothing allows", nil, nil, "", rq(alice, "s3:GetObject", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"eval: bucket policy names the user", nil, nil, grantUser, rq(alice, "s3:GetObject", obj("a")), Allow, ReasonAllowed, "alice-read"},
		{"eval: bucket policy names another user", nil, nil, grantUser, rq(bob, "s3:GetObject", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"eval: naming the account only delegates", nil, nil, grantAccount, rq(alice, "s3:GetObject", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"eval: account grant plus identity allow", []string{allowAllS3}, nil, grantAccount, rq(alice, "s3:GetObject", obj("a")), Allow, ReasonAllowed, "S3"},
		{"eval: root allowed without policies", nil, nil, "", rq(testRoot(), "s3:DeleteBucket", bucket), Allow, ReasonRoot, ""},
		{"eval: root denied by bucket policy", nil, nil, denyAllDeletes, rq(testRoot(), "s3:DeleteObject", obj("a")), Deny, ReasonExplicitDeny, "deny-deletes"},
		{"eval: identity policies do not apply to root", []string{onlyOneBucket}, nil, "", rq(testRoot(), "s3:GetObject", "arn:aws:s3:::other/a"), Allow, ReasonRoot, ""},

		// Sessions.
		{"session: within the session policy", []string{allowAllS3}, []string{sessionReadOnly}, "", rq(writer, "s3:GetObject", obj("a")), Allow, ReasonAllowed, "S3"},
		{"session: outside the session policy", []string{allowAllS3}, []string{sessionReadOnly}, "", rq(writer, "s3:PutObject", obj("a")), Deny, ReasonSessionPolicy, "S3"},
		{"session: session policy alone grants nothing", nil, []string{sessionReadOnly}, "", rq(writer, "s3:GetObject", obj("a")), Deny, ReasonImplicitDeny, ""},
		{"session: no session policy, role permissions", []string{allowAllS3}, nil, "", rq(writer, "s3:PutObject", obj("a")), Allow, ReasonAllowed, "S3"},
		{"session: explicit deny in session policy", []string{allowAllS3}, []string{sessionReadOnly, sessionDenyLogs}, "", rq(writer, "s3:GetObject", obj("logs/a")), Deny, ReasonExplicitDeny, "NoLogs"},
		{"session: bucket grant to the session ARN is direct", nil, []string{sessionReadOnly}, grantSession, rq(writer, "s3:PutObject", obj("a")), Allow, ReasonAllowed, "session-write"},
		{"session: bucket grant to the role is narrowed", nil, []string{sessionReadOnly}, grantRole, rq(writer, "s3:PutObject", obj("a")), Deny, ReasonSessionPolicy, "role-write"},
		{"session: bucket grant to the role, no session policy", nil, nil, grantRole, rq(writer, "s3:PutObject", obj("a")), Allow, ReasonAllowed, "role-write"},
		{"session: grant to another session", nil, nil, grantSession, rq(testSession("Writer", "job-8"), "s3:PutObject", obj("a")), Deny, ReasonImplicitDeny, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sets PolicySets
			for i, d := range c.identity {
				sets.Identity = append(sets.Identity, Named{Name: "identity-" + string(rune('a'+i)), Policy: mustParse(t, KindIdentity, d)})
			}
			for i, d := range c.session {
				sets.Session = append(sets.Session, Named{Name: "session-" + string(rune('a'+i)), Policy: mustParse(t, KindIdentity, d)})
			}
			if c.bucket != "" {
				sets.Resource = []Named{{Name: "bucket policy", Policy: mustParse(t, KindResource, c.bucket)}}
			}
			d := Decide(c.req, sets)
			if d.Effect != c.want || d.Reason != c.reason {
				t.Fatalf("Decide = %v, want %s (%s)", d, c.want, c.reason)
			}
			if c.sid != "" && d.Sid != c.sid {
				t.Fatalf("decided by %v, want statement %q", d, c.sid)
			}
			if (d.Reason == ReasonImplicitDeny || d.Reason == ReasonRoot) && d.Statement != -1 {
				t.Fatalf("%v names a statement", d)
			}
		})
	}
}
