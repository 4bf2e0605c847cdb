package s3api

import (
	"context"
	"fmt"
	"strconv"

	"github.com/filesphere/filesphere/iam"
)

// STS AssumeRoleWithWebIdentity: unsigned (the token is the credential),
// as AWS serves it and as the SDKs send it (AWS_WEB_IDENTITY_TOKEN_FILE).
// The token is verified by the WebIdentity backend (iam/oauth: the
// built-in issuer and registered external ones); iam decides the role's
// trust policy, or the user's own session for the built-in issuer's tokens.

// unsignedActions are the Query API actions that take unsigned requests.
var unsignedActions = map[API]map[string]bool{APISTS: setOf("AssumeRoleWithWebIdentity")}

func assumeRoleWithWebIdentity(ctx context.Context, s *Server, q *queryRequest) (any, error) {
	if s.cfg.WebIdentity == nil {
		return nil, apiErr(ErrNotImplemented, "FileSphere's OAuth2 authorization server is not enabled, so AssumeRoleWithWebIdentity is not available.")
	}
	var in iam.AssumeRoleWithWebIdentityInput
	var err error
	if in.RoleARN, err = q.required("RoleArn"); err != nil {
		return nil, err
	}
	if in.RoleSessionName, err = q.required("RoleSessionName"); err != nil {
		return nil, err
	}
	token, err := q.required("WebIdentityToken")
	if err != nil {
		return nil, err
	}
	if in.DurationSeconds, err = q.intParam("DurationSeconds"); err != nil {
		return nil, err
	}
	for _, p := range []string{"ProviderId", "ProvidedContexts.member.1.ProviderArn"} {
		if q.get(p) != "" {
			return nil, apiErr(ErrNotImplemented, fmt.Sprintf("FileSphere does not implement the AssumeRoleWithWebIdentity parameter %s.", p))
		}
	}
	in.Policy = q.get("Policy")
	for i := 1; ; i++ {
		arn := q.get("PolicyArns.member." + strconv.Itoa(i) + ".arn")
		if arn == "" {
			break
		}
		in.PolicyARNs = append(in.PolicyARNs, arn)
	}
	in.Context = *s.conditions(q.request)
	out, err := s.cfg.WebIdentity.AssumeRoleWithWebIdentity(ctx, token, in)
	if err != nil {
		return nil, err
	}
	type assumedUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	return struct {
		Credentials                 credentialsXML `xml:"Credentials"`
		SubjectFromWebIdentityToken string         `xml:"SubjectFromWebIdentityToken"`
		AssumedRoleUser             assumedUser    `xml:"AssumedRoleUser"`
		PackedPolicySize            int            `xml:"PackedPolicySize"`
		Provider                    string         `xml:"Provider"`
		Audience                    string         `xml:"Audience"`
	}{credentialsOf(out.Credentials), out.SubjectFromWebIdentityToken, assumedUser{out.AssumedRoleID, out.AssumedRoleARN},
		out.PackedPolicySize, out.Provider, out.Audience}, nil
}
