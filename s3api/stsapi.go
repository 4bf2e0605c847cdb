package s3api

import (
	"context"
	"fmt"
	"strconv"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/policy"
)

// The STS Query API: GetCallerIdentity (no permission needed, as in AWS),
// GetSessionToken (allowed unless a policy denies sts:GetSessionToken) and
// AssumeRole (decided by iam: the role's trust policy with the caller's
// own policies). Temporary credentials are iam sessions in the replicated
// KV, so they work on every node at once and stop at their expiry.

type credentialsXML struct {
	AccessKeyID     string  `xml:"AccessKeyId"`
	SecretAccessKey string  `xml:"SecretAccessKey"`
	SessionToken    string  `xml:"SessionToken"`
	Expiration      isoTime `xml:"Expiration"`
}

func credentialsOf(c iam.TemporaryCredentials) credentialsXML {
	return credentialsXML{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, isoTime(c.Expiration)}
}

var stsActions = map[string]queryAction{
	"AssumeRoleWithWebIdentity": {nil, assumeRoleWithWebIdentity},
	"GetCallerIdentity": {nil, func(_ context.Context, s *Server, q *queryRequest) (any, error) {
		p := q.id.Principal
		return struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		}{p.ARN, p.UserID, p.Account}, nil
	}},
	"GetSessionToken": {nil, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		if q.get("SerialNumber") != "" || q.get("TokenCode") != "" {
			return nil, apiErr(ErrNotImplemented, "FileSphere does not implement MFA (SerialNumber, TokenCode).")
		}
		d, err := q.intParam("DurationSeconds")
		if err != nil {
			return nil, err
		}
		// Any IAM user may get a session token, unless a policy denies it.
		if dec, err := s.decide(ctx, q.request, nil, "sts:GetSessionToken", "*"); err != nil {
			return nil, err
		} else if dec.Reason == policy.ReasonExplicitDeny {
			return nil, deniedError(&q.id, "sts:GetSessionToken", "*", dec)
		}
		tc, err := s.ids.GetSessionToken(ctx, q.id.Credential, d)
		if err != nil {
			return nil, err
		}
		return struct {
			Credentials credentialsXML `xml:"Credentials"`
		}{credentialsOf(tc)}, nil
	}},
	"AssumeRole": {nil, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		in, err := assumeRoleInput(q)
		if err != nil {
			return nil, err
		}
		in.Context = *s.conditions(q.request)
		out, err := s.ids.AssumeRole(ctx, q.id.Credential, in)
		if err != nil {
			return nil, err
		}
		type assumedUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string `xml:"Arn"`
		}
		return struct {
			Credentials      credentialsXML `xml:"Credentials"`
			AssumedRoleUser  assumedUser    `xml:"AssumedRoleUser"`
			PackedPolicySize int            `xml:"PackedPolicySize"`
			SourceIdentity   string         `xml:"SourceIdentity,omitempty"`
		}{credentialsOf(out.Credentials), assumedUser{out.AssumedRoleID, out.AssumedRoleARN}, out.PackedPolicySize, out.SourceIdentity}, nil
	}},
}

// assumeRoleInput reads AssumeRole's parameters.
func assumeRoleInput(q *queryRequest) (iam.AssumeRoleInput, error) {
	var in iam.AssumeRoleInput
	var err error
	if in.RoleARN, err = q.required("RoleArn"); err != nil {
		return in, err
	}
	if in.RoleSessionName, err = q.required("RoleSessionName"); err != nil {
		return in, err
	}
	if in.DurationSeconds, err = q.intParam("DurationSeconds"); err != nil {
		return in, err
	}
	for _, p := range []string{"SerialNumber", "TokenCode", "TransitiveTagKeys.member.1", "ProvidedContexts.member.1.ProviderArn"} {
		if q.get(p) != "" {
			return in, apiErr(ErrNotImplemented, fmt.Sprintf("FileSphere does not implement the AssumeRole parameter %s.", p))
		}
	}
	in.Policy, in.ExternalID, in.SourceIdentity = q.get("Policy"), q.get("ExternalId"), q.get("SourceIdentity")
	for i := 1; ; i++ {
		arn := q.get("PolicyArns.member." + strconv.Itoa(i) + ".arn")
		if arn == "" {
			break
		}
		in.PolicyARNs = append(in.PolicyARNs, arn)
	}
	in.Tags = q.tags()
	return in, nil
}

// notBuiltActions are real IAM and STS actions FileSphere does not offer;
// they answer NotImplemented (with status 400, so that clients do not
// retry them), any other unknown action InvalidAction.
var notBuiltActions = map[API]map[string]bool{
	APIIAM: setOf("ListEntitiesForPolicy", "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary",
		"PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary", "CreateVirtualMFADevice", "EnableMFADevice",
		"DeactivateMFADevice", "DeleteVirtualMFADevice", "ListMFADevices", "ListVirtualMFADevices", "ResyncMFADevice",
		"CreateInstanceProfile", "DeleteInstanceProfile", "GetInstanceProfile", "ListInstanceProfiles",
		"AddRoleToInstanceProfile", "RemoveRoleFromInstanceProfile", "ListInstanceProfilesForRole",
		"UploadSigningCertificate", "ListSigningCertificates", "UploadSSHPublicKey", "ListSSHPublicKeys",
		"CreateServiceLinkedRole", "DeleteServiceLinkedRole", "CreateAccountAlias", "ListAccountAliases",
		"DeleteAccountAlias", "GetAccountSummary", "GetAccountAuthorizationDetails", "GetAccountPasswordPolicy",
		"UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy", "CreateSAMLProvider", "CreateOpenIDConnectProvider",
		"ListSAMLProviders", "ListOpenIDConnectProviders", "SimulatePrincipalPolicy", "SimulateCustomPolicy",
		"GenerateCredentialReport", "GetCredentialReport", "ChangePassword", "GetContextKeysForPrincipalPolicy",
		"CreateServiceSpecificCredential", "ListServiceSpecificCredentials", "UploadServerCertificate",
		"ListServerCertificates", "UpdateGroup", "TagPolicy", "UntagPolicy", "ListPolicyTags"),
	APISTS: setOf("GetFederationToken", "AssumeRoleWithSAML", "DecodeAuthorizationMessage",
		"GetAccessKeyInfo", "AssumeRoot", "GetDelegatedAccessToken", "GetWebIdentityToken"),
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
