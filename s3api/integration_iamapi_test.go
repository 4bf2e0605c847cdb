package s3api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// iamClient and stsClient are the SDK's own clients pointed at the
// server, signing with k (the root when k is empty).
func (f *fixture) iamClient(k key) *iam.Client {
	cfg := f.AWSConfig()
	if k.id != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(k.id, k.secret, k.token)
	}
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(f.URL) })
}

func (f *fixture) stsClient(k key) *sts.Client {
	cfg := f.AWSConfig()
	if k.id != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(k.id, k.secret, k.token)
	}
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(f.URL) })
}

// must fails the test on err and returns v.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestIAMAPIWithTheSDK drives the IAM Query API with aws-sdk-go-v2's IAM
// client: users, keys, inline and managed policies, groups, roles, login
// profiles, and the AWS errors, then uses the new key for S3.
func TestIAMAPIWithTheSDK(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("data"))
	c := f.iamClient(key{})
	acct := f.IAM.Account().ID

	u := must[*iam.CreateUserOutput](t)(c.CreateUser(ctx(t), &iam.CreateUserInput{UserName: aws.String("alice"),
		Tags: []iamtypes.Tag{{Key: aws.String("email"), Value: aws.String("alice@example.com")}}}))
	if aws.ToString(u.User.Arn) != "arn:aws:iam::"+acct+":user/alice" || aws.ToString(u.User.UserId) == "" || len(u.User.Tags) != 1 {
		t.Fatalf("CreateUser: %+v", u.User)
	}
	_, err := c.CreateUser(ctx(t), &iam.CreateUserInput{UserName: aws.String("alice")})
	wantIAMErr(t, err, "EntityAlreadyExists", 409)
	_, err = c.GetUser(ctx(t), &iam.GetUserInput{UserName: aws.String("nobody")})
	wantIAMErr(t, err, "NoSuchEntity", 404)
	users := must[*iam.ListUsersOutput](t)(c.ListUsers(ctx(t), &iam.ListUsersInput{}))
	if len(users.Users) != 1 || aws.ToString(users.Users[0].UserName) != "alice" {
		t.Fatalf("ListUsers: %+v", users.Users)
	}
	_, err = c.UpdateUser(ctx(t), &iam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("alicia")})
	wantIAMErr(t, err, "NotImplemented", 400)
	must[*iam.UpdateUserOutput](t)(c.UpdateUser(ctx(t), &iam.UpdateUserInput{UserName: aws.String("alice"), NewPath: aws.String("/team/")}))
	if got := must[*iam.GetUserOutput](t)(c.GetUser(ctx(t), &iam.GetUserInput{UserName: aws.String("alice")})); aws.ToString(got.User.Path) != "/team/" {
		t.Fatalf("path after UpdateUser: %+v", got.User)
	}

	ak := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	alice := key{id: aws.ToString(ak.AccessKey.AccessKeyId), secret: aws.ToString(ak.AccessKey.SecretAccessKey)}
	if !strings.HasPrefix(alice.id, "AKIA") || len(alice.secret) < 30 || ak.AccessKey.Status != iamtypes.StatusTypeActive {
		t.Fatalf("CreateAccessKey: %+v", ak.AccessKey)
	}
	keys := must[*iam.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{UserName: aws.String("alice")}))
	if len(keys.AccessKeyMetadata) != 1 || aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId) != alice.id {
		t.Fatalf("ListAccessKeys: %+v", keys.AccessKeyMetadata)
	}
	must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	_, err = c.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	wantIAMErr(t, err, "LimitExceeded", 409)

	// Without a policy, alice may do nothing; with one, what it says.
	as := f.sdkAs(t, alice)
	_, err = as.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = c.PutUserPolicy(ctx(t), &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)})
	wantIAMErr(t, err, "MalformedPolicyDocument", 400)
	must[*iam.PutUserPolicyOutput](t)(c.PutUserPolicy(ctx(t), &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(readOnly(b))}))
	gp := must[*iam.GetUserPolicyOutput](t)(c.GetUserPolicy(ctx(t), &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read")}))
	if doc, _ := url.PathUnescape(aws.ToString(gp.PolicyDocument)); doc != readOnly(b) {
		t.Fatalf("GetUserPolicy document %q", aws.ToString(gp.PolicyDocument))
	}
	if lp := must[*iam.ListUserPoliciesOutput](t)(c.ListUserPolicies(ctx(t), &iam.ListUserPoliciesInput{UserName: aws.String("alice")})); len(lp.PolicyNames) != 1 {
		t.Fatalf("ListUserPolicies: %v", lp.PolicyNames)
	}
	out := must[*s3.GetObjectOutput](t)(as.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")}))
	out.Body.Close()
	_, err = as.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("w"), Body: strings.NewReader("x")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	lu := must[*iam.GetAccessKeyLastUsedOutput](t)(c.GetAccessKeyLastUsed(ctx(t), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(alice.id)}))
	if aws.ToString(lu.UserName) != "alice" || lu.AccessKeyLastUsed == nil || aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "s3" {
		t.Fatalf("GetAccessKeyLastUsed: %+v %+v", lu, lu.AccessKeyLastUsed)
	}
	// alice has no IAM permissions.
	_, err = f.iamClient(alice).ListUsers(ctx(t), &iam.ListUsersInput{})
	wantIAMErr(t, err, "AccessDenied", 403)

	// Groups and managed policies.
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx(t), &iam.CreateGroupInput{GroupName: aws.String("writers")}))
	must[*iam.AddUserToGroupOutput](t)(c.AddUserToGroup(ctx(t), &iam.AddUserToGroupInput{GroupName: aws.String("writers"), UserName: aws.String("alice")}))
	if gs := must[*iam.ListGroupsForUserOutput](t)(c.ListGroupsForUser(ctx(t), &iam.ListGroupsForUserInput{UserName: aws.String("alice")})); len(gs.Groups) != 1 {
		t.Fatalf("ListGroupsForUser: %+v", gs.Groups)
	}
	write := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`
	mp := must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx(t), &iam.CreatePolicyInput{PolicyName: aws.String("write"), PolicyDocument: aws.String(write)}))
	arn := aws.ToString(mp.Policy.Arn)
	if arn != "arn:aws:iam::"+acct+":policy/write" || aws.ToString(mp.Policy.DefaultVersionId) != "v1" {
		t.Fatalf("CreatePolicy: %+v", mp.Policy)
	}
	pv := must[*iam.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx(t), &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v1")}))
	if doc, _ := url.PathUnescape(aws.ToString(pv.PolicyVersion.Document)); doc != write {
		t.Fatalf("GetPolicyVersion document %q", doc)
	}
	if ps := must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx(t), &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})); len(ps.Policies) != 1 {
		t.Fatalf("ListPolicies: %+v", ps.Policies)
	}
	must[*iam.AttachGroupPolicyOutput](t)(c.AttachGroupPolicy(ctx(t), &iam.AttachGroupPolicyInput{GroupName: aws.String("writers"), PolicyArn: &arn}))
	if _, err := as.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("w"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("PutObject allowed by the group's managed policy: %v", err)
	}
	_, err = c.DeletePolicy(ctx(t), &iam.DeletePolicyInput{PolicyArn: &arn})
	wantIAMErr(t, err, "DeleteConflict", 409)
	must[*iam.AttachUserPolicyOutput](t)(c.AttachUserPolicy(ctx(t), &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: &arn}))
	if ap := must[*iam.ListAttachedUserPoliciesOutput](t)(c.ListAttachedUserPolicies(ctx(t), &iam.ListAttachedUserPoliciesInput{UserName: aws.String("alice")})); len(ap.AttachedPolicies) != 1 || aws.ToString(ap.AttachedPolicies[0].PolicyArn) != arn {
		t.Fatalf("ListAttachedUserPolicies: %+v", ap.AttachedPolicies)
	}
	must[*iam.DetachUserPolicyOutput](t)(c.DetachUserPolicy(ctx(t), &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: &arn}))
	must[*iam.PutGroupPolicyOutput](t)(c.PutGroupPolicy(ctx(t), &iam.PutGroupPolicyInput{GroupName: aws.String("writers"), PolicyName: aws.String("deny-deletes"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`)}))
	must[*iam.RemoveUserFromGroupOutput](t)(c.RemoveUserFromGroup(ctx(t), &iam.RemoveUserFromGroupInput{GroupName: aws.String("writers"), UserName: aws.String("alice")}))
	_, err = as.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("w2"), Body: strings.NewReader("x")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)

	// Login profiles and tags.
	must[*iam.CreateLoginProfileOutput](t)(c.CreateLoginProfile(ctx(t), &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Correct-horse-9")}))
	_, err = c.CreateLoginProfile(ctx(t), &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Another-one-123")})
	wantIAMErr(t, err, "EntityAlreadyExists", 409)
	must[*iam.UpdateLoginProfileOutput](t)(c.UpdateLoginProfile(ctx(t), &iam.UpdateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Staple-battery-7")}))
	must[*iam.TagUserOutput](t)(c.TagUser(ctx(t), &iam.TagUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}))

	// Deleting a user with dependents is refused, as in AWS.
	_, err = c.DeleteUser(ctx(t), &iam.DeleteUserInput{UserName: aws.String("alice")})
	wantIAMErr(t, err, "DeleteConflict", 409)
	must[*iam.DeleteLoginProfileOutput](t)(c.DeleteLoginProfile(ctx(t), &iam.DeleteLoginProfileInput{UserName: aws.String("alice")}))
	must[*iam.DeleteUserPolicyOutput](t)(c.DeleteUserPolicy(ctx(t), &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read")}))
	for _, k := range must[*iam.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{UserName: aws.String("alice")})).AccessKeyMetadata {
		must[*iam.DeleteAccessKeyOutput](t)(c.DeleteAccessKey(ctx(t), &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKeyId}))
	}
	must[*iam.DeleteUserOutput](t)(c.DeleteUser(ctx(t), &iam.DeleteUserInput{UserName: aws.String("alice")}))
	_, err = as.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
	if errStatus(err) != http.StatusForbidden {
		t.Fatalf("a deleted user's key still works: %v", err)
	}
}

// TestSTSWithTheSDK: GetCallerIdentity, GetSessionToken and AssumeRole
// with aws-sdk-go-v2's STS client; the temporary credentials work for S3
// within the role's and the session policy's limits.
func TestSTSWithTheSDK(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	f.put(t, b, "k", []byte("data"))
	acct := f.IAM.Account().ID
	c := f.iamClient(key{})
	dev := f.newUser(t, "dev", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`)

	id := must[*sts.GetCallerIdentityOutput](t)(f.stsClient(key{}).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.Account) != acct || aws.ToString(id.Arn) != "arn:aws:iam::"+acct+":root" {
		t.Fatalf("root GetCallerIdentity: %+v", id)
	}
	id = must[*sts.GetCallerIdentityOutput](t)(f.stsClient(dev).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.Arn) != "arn:aws:iam::"+acct+":user/dev" {
		t.Fatalf("user GetCallerIdentity: %+v", id)
	}

	st := must[*sts.GetSessionTokenOutput](t)(f.stsClient(dev).GetSessionToken(ctx(t), &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)}))
	sess := key{aws.ToString(st.Credentials.AccessKeyId), aws.ToString(st.Credentials.SecretAccessKey), aws.ToString(st.Credentials.SessionToken)}
	if !strings.HasPrefix(sess.id, "ASIA") || sess.token == "" {
		t.Fatalf("GetSessionToken: %+v", st.Credentials)
	}
	if _, err := f.sdkAs(t, sess).ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b}); err != nil {
		t.Fatalf("session of dev lists: %v", err)
	}
	_, err := f.sdkAs(t, sess).GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	id = must[*sts.GetCallerIdentityOutput](t)(f.stsClient(sess).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.Arn) != "arn:aws:iam::"+acct+":user/dev" {
		t.Fatalf("session GetCallerIdentity: %+v", id)
	}

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/dev"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx(t), &iam.CreateRoleInput{RoleName: aws.String("rw"), AssumeRolePolicyDocument: aws.String(trust)}))
	must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx(t), &iam.PutRolePolicyInput{RoleName: aws.String("rw"), PolicyName: aws.String("rw"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}))
	if r := must[*iam.GetRoleOutput](t)(c.GetRole(ctx(t), &iam.GetRoleInput{RoleName: aws.String("rw")})); aws.ToString(r.Role.Arn) != "arn:aws:iam::"+acct+":role/rw" {
		t.Fatalf("GetRole: %+v", r.Role)
	}
	roleARN := "arn:aws:iam::" + acct + ":role/rw"
	// A session policy narrows the role to reading.
	ar := must[*sts.AssumeRoleOutput](t)(f.stsClient(dev).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("job"),
		DurationSeconds: aws.Int32(900), Policy: aws.String(readOnly(b)), Tags: []ststypes.Tag{{Key: aws.String("project"), Value: aws.String("x")}}}))
	role := key{aws.ToString(ar.Credentials.AccessKeyId), aws.ToString(ar.Credentials.SecretAccessKey), aws.ToString(ar.Credentials.SessionToken)}
	if aws.ToString(ar.AssumedRoleUser.Arn) != "arn:aws:sts::"+acct+":assumed-role/rw/job" {
		t.Fatalf("AssumeRole: %+v", ar.AssumedRoleUser)
	}
	out := must[*s3.GetObjectOutput](t)(f.sdkAs(t, role).GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")}))
	out.Body.Close()
	_, err = f.sdkAs(t, role).PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("w"), Body: strings.NewReader("x")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)

	// Who the trust policy does not name is refused, and so is root.
	other := f.newUser(t, "other")
	_, err = f.stsClient(other).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("job")})
	wantIAMErr(t, err, "AccessDenied", 403)
	_, err = f.stsClient(key{}).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("job")})
	wantIAMErr(t, err, "AccessDenied", 403)
	_, err = f.stsClient(dev).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("job"), DurationSeconds: aws.Int32(899)})
	wantIAMErr(t, err, "ValidationError", 400)

	// Deleting the role ends its sessions.
	must[*iam.DeleteRolePolicyOutput](t)(c.DeleteRolePolicy(ctx(t), &iam.DeleteRolePolicyInput{RoleName: aws.String("rw"), PolicyName: aws.String("rw")}))
	must[*iam.DeleteRoleOutput](t)(c.DeleteRole(ctx(t), &iam.DeleteRoleInput{RoleName: aws.String("rw")}))
	_, err = f.sdkAs(t, role).HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
	if errStatus(err) != http.StatusForbidden {
		t.Fatalf("a deleted role's session still works: %v", err)
	}
}

// wantIAMErr checks an IAM/STS error's code and status.
func wantIAMErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	if got := errCode(err); got != code {
		t.Fatalf("want %s, got %q (%v)", code, got, err)
	}
	if got := errStatus(err); got != status {
		t.Fatalf("want status %d, got %d (%v)", status, got, err)
	}
}
