package s3api

import (
	"context"
	"encoding/xml"
	"net/url"
	"strings"
	"time"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/policy"
)

// The IAM Query API: each action authorized as iam:<Action> on the ARN of
// the entity it names (paths are not part of those ARNs: a policy naming
// arn:aws:iam::ACCOUNT:user/* matches every user), run through iam, and
// answered in IAM's XML shapes. Lists are answered whole where iam
// returns them whole (IsTruncated false).

// memberList is a Query API list: <Name><member>…</member>…</Name>.
type memberList[T any] struct {
	Member []T `xml:"member"`
}

type iamTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagsXML(tags []iam.Tag) *memberList[iamTag] {
	if len(tags) == 0 {
		return nil
	}
	out := &memberList[iamTag]{}
	for _, t := range tags {
		out.Member = append(out.Member, iamTag{t.Key, t.Value})
	}
	return out
}

type userXML struct {
	Path       string              `xml:"Path"`
	UserName   string              `xml:"UserName"`
	UserID     string              `xml:"UserId"`
	Arn        string              `xml:"Arn"`
	CreateDate isoTime             `xml:"CreateDate"`
	Tags       *memberList[iamTag] `xml:"Tags,omitempty"`
}

func userOf(u iam.User) userXML {
	return userXML{Path: u.Path, UserName: u.Name, UserID: u.UserID, Arn: u.ARN, CreateDate: isoTime(u.Created), Tags: tagsXML(u.Tags)}
}

type groupXML struct {
	Path       string  `xml:"Path"`
	GroupName  string  `xml:"GroupName"`
	GroupID    string  `xml:"GroupId"`
	Arn        string  `xml:"Arn"`
	CreateDate isoTime `xml:"CreateDate"`
}

func groupOf(g iam.Group) groupXML {
	return groupXML{Path: g.Path, GroupName: g.Name, GroupID: g.GroupID, Arn: g.ARN, CreateDate: isoTime(g.Created)}
}

type roleXML struct {
	Path                     string              `xml:"Path"`
	RoleName                 string              `xml:"RoleName"`
	RoleID                   string              `xml:"RoleId"`
	Arn                      string              `xml:"Arn"`
	CreateDate               isoTime             `xml:"CreateDate"`
	AssumeRolePolicyDocument string              `xml:"AssumeRolePolicyDocument"`
	Description              string              `xml:"Description,omitempty"`
	MaxSessionDuration       int                 `xml:"MaxSessionDuration"`
	Tags                     *memberList[iamTag] `xml:"Tags,omitempty"`
}

func roleOf(r iam.Role) roleXML {
	return roleXML{Path: r.Path, RoleName: r.Name, RoleID: r.RoleID, Arn: r.ARN, CreateDate: isoTime(r.Created),
		AssumeRolePolicyDocument: policyText(r.TrustPolicy), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration, Tags: tagsXML(r.Tags)}
}

type policyXML struct {
	PolicyName                    string  `xml:"PolicyName"`
	PolicyID                      string  `xml:"PolicyId"`
	Arn                           string  `xml:"Arn"`
	Path                          string  `xml:"Path"`
	DefaultVersionID              string  `xml:"DefaultVersionId"`
	AttachmentCount               int     `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int     `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool    `xml:"IsAttachable"`
	Description                   string  `xml:"Description,omitempty"`
	CreateDate                    isoTime `xml:"CreateDate"`
	UpdateDate                    isoTime `xml:"UpdateDate"`
}

func policyOf(p iam.ManagedPolicy) policyXML {
	return policyXML{PolicyName: p.Name, PolicyID: p.PolicyID, Arn: p.ARN, Path: p.Path, DefaultVersionID: p.DefaultVersionID,
		AttachmentCount: p.AttachmentCount, IsAttachable: true, Description: p.Description,
		CreateDate: isoTime(p.Created), UpdateDate: isoTime(p.Updated)}
}

type policyVersionXML struct {
	Document         string  `xml:"Document,omitempty"`
	VersionID        string  `xml:"VersionId"`
	IsDefaultVersion bool    `xml:"IsDefaultVersion"`
	CreateDate       isoTime `xml:"CreateDate"`
}

func versionOf(v iam.PolicyVersion) policyVersionXML {
	return policyVersionXML{Document: policyText(v.Document), VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.Created)}
}

type attachedXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type accessKeyMetaXML struct {
	UserName    string  `xml:"UserName"`
	AccessKeyID string  `xml:"AccessKeyId"`
	Status      string  `xml:"Status"`
	CreateDate  isoTime `xml:"CreateDate"`
}

// accessKeyXML is a new key, the only answer that ever holds its secret.
type accessKeyXML struct {
	UserName        string  `xml:"UserName"`
	AccessKeyID     string  `xml:"AccessKeyId"`
	Status          string  `xml:"Status"`
	SecretAccessKey string  `xml:"SecretAccessKey"`
	CreateDate      isoTime `xml:"CreateDate"`
}

type loginProfileXML struct {
	UserName              string  `xml:"UserName"`
	CreateDate            isoTime `xml:"CreateDate"`
	PasswordResetRequired bool    `xml:"PasswordResetRequired"`
}

// policyText is a policy document as IAM returns it: URL-encoded (the
// clients decode it; spaces as %20, which their decoders read back).
func policyText(doc string) string { return url.PathEscape(doc) }

// page is the truncation part of a list result.
type page struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func pageOf(next string) page { return page{IsTruncated: next != "", Marker: next} }

// iamARN is the ARN of an IAM entity of this account (path "/").
func (s *Server) iamARN(kind, name string) string {
	return "arn:aws:iam::" + s.account.ID + ":" + kind + "/" + name
}

// on authorizes an action on the entity kind named by param.
func on(kind, param string) func(*Server, *queryRequest) string {
	return func(s *Server, q *queryRequest) string { return s.iamARN(kind, q.get(param)) }
}

// onAll authorizes a listing on every entity of kind.
func onAll(kind string) func(*Server, *queryRequest) string {
	return func(s *Server, q *queryRequest) string { return s.iamARN(kind, "*") }
}

// onPolicy authorizes on the PolicyArn parameter.
func onPolicy(s *Server, q *queryRequest) string { return q.get("PolicyArn") }

// onSelf authorizes on UserName, or the caller itself when it is not
// given (the access-key and user actions default to the caller).
func onSelf(s *Server, q *queryRequest) string { return s.iamARN("user", q.userOrSelf()) }

// userOrSelf is the UserName parameter, else the calling user's name.
func (q *queryRequest) userOrSelf() string {
	if u := q.get("UserName"); u != "" {
		return u
	}
	return q.id.Principal.Username
}

// selfUser is userOrSelf for actions that need a user: the root and role
// sessions have none of their own.
func (q *queryRequest) selfUser() (string, error) {
	if u := q.userOrSelf(); u != "" {
		return u, nil
	}
	return q.required("UserName")
}

// withTags adds aws:RequestTag/<key> and aws:TagKeys for the tags a
// request sets, before it is authorized.
func withTags(s *Server, q *queryRequest, tags []iam.Tag) {
	if len(tags) == 0 {
		return
	}
	c := s.conditions(q.request)
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		c.Set(policy.KeyRequestTagPrefix+t.Key, t.Value)
		keys = append(keys, t.Key)
	}
	c.Set(policy.KeyTagKeys, keys...)
}

// tagged wraps a resource function to gather the request's tags first.
func tagged(res func(*Server, *queryRequest) string) func(*Server, *queryRequest) string {
	return func(s *Server, q *queryRequest) string {
		withTags(s, q, q.tags())
		return res(s, q)
	}
}

var iamActions = map[string]queryAction{
	"CreateUser": {tagged(on("user", "UserName")), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("UserName")
		if err != nil {
			return nil, err
		}
		tags := q.tags()
		if len(tags) > 0 {
			if err := s.allow(ctx, q.request, nil, "iam:TagUser", s.iamARN("user", name)); err != nil {
				return nil, err
			}
		}
		u, err := s.ids.CreateUser(ctx, iam.CreateUserInput{Name: name, Path: q.get("Path"), Tags: tags})
		if err != nil {
			return nil, err
		}
		return struct {
			User userXML `xml:"User"`
		}{userOf(u)}, nil
	}},
	"GetUser": {onSelf, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name := q.userOrSelf()
		if name == "" && q.id.Principal.Type == policy.PrincipalAccount {
			return struct {
				User userXML `xml:"User"`
			}{userXML{UserID: s.account.ID, Arn: s.account.ARN, CreateDate: isoTime(time.Time{})}}, nil
		}
		if name == "" {
			return nil, apiErr(ErrValidationError, "Must specify userName when calling with non-User credentials")
		}
		u, err := s.ids.GetUser(ctx, name)
		if err != nil {
			return nil, err
		}
		return struct {
			User userXML `xml:"User"`
		}{userOf(u)}, nil
	}},
	"ListUsers": {onAll("user"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		opt, err := q.listOptions()
		if err != nil {
			return nil, err
		}
		us, next, err := s.ids.ListUsers(ctx, opt)
		if err != nil {
			return nil, err
		}
		out := struct {
			Users memberList[userXML] `xml:"Users"`
			page
		}{page: pageOf(next)}
		for _, u := range us {
			out.Users.Member = append(out.Users.Member, userOf(u))
		}
		return out, nil
	}},
	"UpdateUser": {on("user", "UserName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("UserName")
		if err != nil {
			return nil, err
		}
		if nn := q.get("NewUserName"); nn != "" && !strings.EqualFold(nn, name) {
			return nil, apiErr(ErrNotImplemented, "FileSphere does not rename users (NewUserName); create a new user instead.")
		}
		return nil, s.ids.UpdateUser(ctx, name, q.get("NewPath"))
	}},
	"DeleteUser":   {on("user", "UserName"), entityCall("UserName", func(ctx context.Context, s *Server, n string) error { return s.ids.DeleteUser(ctx, n) })},
	"TagUser":      {tagged(on("user", "UserName")), tagCall(iam.UserEntity, "UserName")},
	"UntagUser":    {on("user", "UserName"), untagCall(iam.UserEntity, "UserName")},
	"ListUserTags": {on("user", "UserName"), listTagsCall(iam.UserEntity, "UserName")},

	"CreateGroup": {on("group", "GroupName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("GroupName")
		if err != nil {
			return nil, err
		}
		g, err := s.ids.CreateGroup(ctx, name, q.get("Path"))
		if err != nil {
			return nil, err
		}
		return struct {
			Group groupXML `xml:"Group"`
		}{groupOf(g)}, nil
	}},
	"GetGroup": {on("group", "GroupName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("GroupName")
		if err != nil {
			return nil, err
		}
		g, us, err := s.ids.GetGroup(ctx, name)
		if err != nil {
			return nil, err
		}
		out := struct {
			Group groupXML            `xml:"Group"`
			Users memberList[userXML] `xml:"Users"`
			page
		}{Group: groupOf(g)}
		for _, u := range us {
			out.Users.Member = append(out.Users.Member, userOf(u))
		}
		return out, nil
	}},
	"ListGroups": {onAll("group"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		opt, err := q.listOptions()
		if err != nil {
			return nil, err
		}
		gs, next, err := s.ids.ListGroups(ctx, opt)
		if err != nil {
			return nil, err
		}
		return groupsResult(gs, next), nil
	}},
	"DeleteGroup": {on("group", "GroupName"), entityCall("GroupName", func(ctx context.Context, s *Server, n string) error { return s.ids.DeleteGroup(ctx, n) })},
	"AddUserToGroup": {on("group", "GroupName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return nil, twoNames(q, "GroupName", "UserName", func(g, u string) error { return s.ids.AddUserToGroup(ctx, g, u) })
	}},
	"RemoveUserFromGroup": {on("group", "GroupName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return nil, twoNames(q, "GroupName", "UserName", func(g, u string) error { return s.ids.RemoveUserFromGroup(ctx, g, u) })
	}},
	"ListGroupsForUser": {on("user", "UserName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("UserName")
		if err != nil {
			return nil, err
		}
		gs, err := s.ids.ListGroupsForUser(ctx, name)
		if err != nil {
			return nil, err
		}
		return groupsResult(gs, ""), nil
	}},

	"CreateAccessKey": {onSelf, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.selfUser()
		if err != nil {
			return nil, err
		}
		k, err := s.ids.CreateAccessKey(ctx, user)
		if err != nil {
			return nil, err
		}
		return struct {
			AccessKey accessKeyXML `xml:"AccessKey"`
		}{accessKeyXML{k.UserName, k.AccessKeyID, string(k.Status), k.SecretAccessKey, isoTime(k.Created)}}, nil
	}},
	"ListAccessKeys": {onSelf, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.selfUser()
		if err != nil {
			return nil, err
		}
		ks, err := s.ids.ListAccessKeys(ctx, user)
		if err != nil {
			return nil, err
		}
		out := struct {
			UserName string                       `xml:"UserName"`
			Keys     memberList[accessKeyMetaXML] `xml:"AccessKeyMetadata"`
			page
		}{UserName: user}
		for _, k := range ks {
			out.Keys.Member = append(out.Keys.Member, accessKeyMetaXML{k.UserName, k.AccessKeyID, string(k.Status), isoTime(k.Created)})
		}
		return out, nil
	}},
	"UpdateAccessKey": {onSelf, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.selfUser()
		if err != nil {
			return nil, err
		}
		id, err := q.required("AccessKeyId")
		if err != nil {
			return nil, err
		}
		st, err := q.required("Status")
		if err != nil {
			return nil, err
		}
		return nil, s.ids.UpdateAccessKey(ctx, user, id, iam.KeyStatus(st))
	}},
	"DeleteAccessKey": {onSelf, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.selfUser()
		if err != nil {
			return nil, err
		}
		id, err := q.required("AccessKeyId")
		if err != nil {
			return nil, err
		}
		return nil, s.ids.DeleteAccessKey(ctx, user, id)
	}},
	"GetAccessKeyLastUsed": {onKeyOwner, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		id, err := q.required("AccessKeyId")
		if err != nil {
			return nil, err
		}
		lu, err := s.ids.GetAccessKeyLastUsed(ctx, id)
		if err != nil {
			return nil, err
		}
		type lastUsed struct {
			LastUsedDate *isoTime `xml:"LastUsedDate,omitempty"`
			ServiceName  string   `xml:"ServiceName"`
			Region       string   `xml:"Region"`
		}
		out := struct {
			UserName string   `xml:"UserName"`
			LastUsed lastUsed `xml:"AccessKeyLastUsed"`
		}{UserName: lu.UserName, LastUsed: lastUsed{ServiceName: "N/A", Region: "N/A"}}
		if !lu.When.IsZero() {
			t := isoTime(lu.When)
			out.LastUsed = lastUsed{LastUsedDate: &t, ServiceName: lu.Service, Region: lu.Region}
		}
		return out, nil
	}},

	"PutUserPolicy":     {on("user", "UserName"), putInline(iam.UserEntity, "UserName")},
	"GetUserPolicy":     {on("user", "UserName"), getInline(iam.UserEntity, "UserName")},
	"DeleteUserPolicy":  {on("user", "UserName"), deleteInline(iam.UserEntity, "UserName")},
	"ListUserPolicies":  {on("user", "UserName"), listInline(iam.UserEntity, "UserName")},
	"PutGroupPolicy":    {on("group", "GroupName"), putInline(iam.GroupEntity, "GroupName")},
	"GetGroupPolicy":    {on("group", "GroupName"), getInline(iam.GroupEntity, "GroupName")},
	"DeleteGroupPolicy": {on("group", "GroupName"), deleteInline(iam.GroupEntity, "GroupName")},
	"ListGroupPolicies": {on("group", "GroupName"), listInline(iam.GroupEntity, "GroupName")},
	"PutRolePolicy":     {on("role", "RoleName"), putInline(iam.RoleEntity, "RoleName")},
	"GetRolePolicy":     {on("role", "RoleName"), getInline(iam.RoleEntity, "RoleName")},
	"DeleteRolePolicy":  {on("role", "RoleName"), deleteInline(iam.RoleEntity, "RoleName")},
	"ListRolePolicies":  {on("role", "RoleName"), listInline(iam.RoleEntity, "RoleName")},

	"AttachUserPolicy":          {on("user", "UserName"), attachCall(iam.UserEntity, "UserName", true)},
	"DetachUserPolicy":          {on("user", "UserName"), attachCall(iam.UserEntity, "UserName", false)},
	"ListAttachedUserPolicies":  {on("user", "UserName"), listAttached(iam.UserEntity, "UserName")},
	"AttachGroupPolicy":         {on("group", "GroupName"), attachCall(iam.GroupEntity, "GroupName", true)},
	"DetachGroupPolicy":         {on("group", "GroupName"), attachCall(iam.GroupEntity, "GroupName", false)},
	"ListAttachedGroupPolicies": {on("group", "GroupName"), listAttached(iam.GroupEntity, "GroupName")},
	"AttachRolePolicy":          {on("role", "RoleName"), attachCall(iam.RoleEntity, "RoleName", true)},
	"DetachRolePolicy":          {on("role", "RoleName"), attachCall(iam.RoleEntity, "RoleName", false)},
	"ListAttachedRolePolicies":  {on("role", "RoleName"), listAttached(iam.RoleEntity, "RoleName")},

	"CreatePolicy": {func(s *Server, q *queryRequest) string {
		path := q.get("Path")
		if path == "" {
			path = "/"
		}
		return "arn:aws:iam::" + s.account.ID + ":policy" + path + q.get("PolicyName")
	}, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("PolicyName")
		if err != nil {
			return nil, err
		}
		doc, err := q.required("PolicyDocument")
		if err != nil {
			return nil, err
		}
		p, err := s.ids.CreatePolicy(ctx, iam.CreatePolicyInput{Name: name, Path: q.get("Path"), Document: doc, Description: q.get("Description")})
		if err != nil {
			return nil, err
		}
		return struct {
			Policy policyXML `xml:"Policy"`
		}{policyOf(p)}, nil
	}},
	"GetPolicy": {onPolicy, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		arn, err := q.required("PolicyArn")
		if err != nil {
			return nil, err
		}
		p, err := s.ids.GetPolicy(ctx, arn)
		if err != nil {
			return nil, err
		}
		return struct {
			Policy policyXML `xml:"Policy"`
		}{policyOf(p)}, nil
	}},
	"DeletePolicy": {onPolicy, entityCall("PolicyArn", func(ctx context.Context, s *Server, arn string) error { return s.ids.DeletePolicy(ctx, arn) })},
	"ListPolicies": {onAll("policy"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		opt, err := q.listOptions()
		if err != nil {
			return nil, err
		}
		attached, err := q.boolParam("OnlyAttached")
		if err != nil {
			return nil, err
		}
		out := struct {
			Policies memberList[policyXML] `xml:"Policies"`
			page
		}{}
		switch q.get("Scope") {
		case "AWS":
			return out, nil // FileSphere has no AWS managed policies
		case "", "All", "Local":
		default:
			return nil, apiErr(ErrValidationError, "1 validation error detected: Value at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]")
		}
		ps, next, err := s.ids.ListPolicies(ctx, opt)
		if err != nil {
			return nil, err
		}
		out.page = pageOf(next)
		for _, p := range ps {
			if attached != nil && *attached && p.AttachmentCount == 0 {
				continue
			}
			out.Policies.Member = append(out.Policies.Member, policyOf(p))
		}
		return out, nil
	}},
	"GetPolicyVersion": {onPolicy, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, "PolicyArn", "VersionId", func(arn, v string) (any, error) {
			pv, err := s.ids.GetPolicyVersion(ctx, arn, v)
			if err != nil {
				return nil, err
			}
			return struct {
				PolicyVersion policyVersionXML `xml:"PolicyVersion"`
			}{versionOf(pv)}, nil
		})
	}},
	"CreatePolicyVersion": {onPolicy, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		def, err := q.boolParam("SetAsDefault")
		if err != nil {
			return nil, err
		}
		return twoValues(q, "PolicyArn", "PolicyDocument", func(arn, doc string) (any, error) {
			pv, err := s.ids.CreatePolicyVersion(ctx, arn, doc, def != nil && *def)
			if err != nil {
				return nil, err
			}
			return struct {
				PolicyVersion policyVersionXML `xml:"PolicyVersion"`
			}{versionOf(pv)}, nil
		})
	}},
	"ListPolicyVersions": {onPolicy, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		arn, err := q.required("PolicyArn")
		if err != nil {
			return nil, err
		}
		vs, err := s.ids.ListPolicyVersions(ctx, arn)
		if err != nil {
			return nil, err
		}
		out := struct {
			Versions memberList[policyVersionXML] `xml:"Versions"`
			page
		}{}
		for _, v := range vs {
			v.Document = "" // ListPolicyVersions answers without documents
			out.Versions.Member = append(out.Versions.Member, versionOf(v))
		}
		return out, nil
	}},
	"DeletePolicyVersion": {onPolicy, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, "PolicyArn", "VersionId", func(arn, v string) (any, error) {
			return nil, s.ids.DeletePolicyVersion(ctx, arn, v)
		})
	}},
	"SetDefaultPolicyVersion": {onPolicy, func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, "PolicyArn", "VersionId", func(arn, v string) (any, error) {
			return nil, s.ids.SetDefaultPolicyVersion(ctx, arn, v)
		})
	}},

	"CreateRole": {tagged(on("role", "RoleName")), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("RoleName")
		if err != nil {
			return nil, err
		}
		trust, err := q.required("AssumeRolePolicyDocument")
		if err != nil {
			return nil, err
		}
		maxD, err := q.intParam("MaxSessionDuration")
		if err != nil {
			return nil, err
		}
		tags := q.tags()
		if len(tags) > 0 {
			if err := s.allow(ctx, q.request, nil, "iam:TagRole", s.iamARN("role", name)); err != nil {
				return nil, err
			}
		}
		if q.get("PermissionsBoundary") != "" {
			return nil, apiErr(ErrNotImplemented, "FileSphere does not implement permissions boundaries.")
		}
		r, err := s.ids.CreateRole(ctx, iam.CreateRoleInput{Name: name, Path: q.get("Path"), TrustPolicy: trust,
			Description: q.get("Description"), MaxSessionDuration: maxD, Tags: tags})
		if err != nil {
			return nil, err
		}
		return struct {
			Role roleXML `xml:"Role"`
		}{roleOf(r)}, nil
	}},
	"GetRole": {on("role", "RoleName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("RoleName")
		if err != nil {
			return nil, err
		}
		r, err := s.ids.GetRole(ctx, name)
		if err != nil {
			return nil, err
		}
		return struct {
			Role roleXML `xml:"Role"`
		}{roleOf(r)}, nil
	}},
	"ListRoles": {onAll("role"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		opt, err := q.listOptions()
		if err != nil {
			return nil, err
		}
		rs, next, err := s.ids.ListRoles(ctx, opt)
		if err != nil {
			return nil, err
		}
		out := struct {
			Roles memberList[roleXML] `xml:"Roles"`
			page
		}{page: pageOf(next)}
		for _, r := range rs {
			out.Roles.Member = append(out.Roles.Member, roleOf(r))
		}
		return out, nil
	}},
	"DeleteRole": {on("role", "RoleName"), entityCall("RoleName", func(ctx context.Context, s *Server, n string) error { return s.ids.DeleteRole(ctx, n) })},
	"UpdateAssumeRolePolicy": {on("role", "RoleName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, "RoleName", "PolicyDocument", func(name, doc string) (any, error) {
			return nil, s.ids.UpdateAssumeRolePolicy(ctx, name, doc)
		})
	}},
	"UpdateRole": {on("role", "RoleName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required("RoleName")
		if err != nil {
			return nil, err
		}
		maxD, err := q.intParam("MaxSessionDuration")
		if err != nil {
			return nil, err
		}
		var desc *string
		if v, ok := q.form["Description"]; ok && len(v) > 0 {
			desc = &v[0]
		}
		return nil, s.ids.UpdateRole(ctx, name, desc, maxD)
	}},
	"TagRole":      {tagged(on("role", "RoleName")), tagCall(iam.RoleEntity, "RoleName")},
	"UntagRole":    {on("role", "RoleName"), untagCall(iam.RoleEntity, "RoleName")},
	"ListRoleTags": {on("role", "RoleName"), listTagsCall(iam.RoleEntity, "RoleName")},

	"CreateLoginProfile": {on("user", "UserName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.required("UserName")
		if err != nil {
			return nil, err
		}
		pw, err := q.required("Password")
		if err != nil {
			return nil, err
		}
		reset, err := q.boolParam("PasswordResetRequired")
		if err != nil {
			return nil, err
		}
		lp, err := s.ids.CreateLoginProfile(ctx, user, pw, reset != nil && *reset)
		if err != nil {
			return nil, err
		}
		return struct {
			LoginProfile loginProfileXML `xml:"LoginProfile"`
		}{loginProfileXML{lp.UserName, isoTime(lp.Created), lp.PasswordResetRequired}}, nil
	}},
	"GetLoginProfile": {on("user", "UserName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.required("UserName")
		if err != nil {
			return nil, err
		}
		lp, err := s.ids.GetLoginProfile(ctx, user)
		if err != nil {
			return nil, err
		}
		return struct {
			LoginProfile loginProfileXML `xml:"LoginProfile"`
		}{loginProfileXML{lp.UserName, isoTime(lp.Created), lp.PasswordResetRequired}}, nil
	}},
	"UpdateLoginProfile": {on("user", "UserName"), func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		user, err := q.required("UserName")
		if err != nil {
			return nil, err
		}
		reset, err := q.boolParam("PasswordResetRequired")
		if err != nil {
			return nil, err
		}
		return nil, s.ids.UpdateLoginProfile(ctx, user, q.get("Password"), reset)
	}},
	"DeleteLoginProfile": {on("user", "UserName"), entityCall("UserName", func(ctx context.Context, s *Server, n string) error {
		return s.ids.DeleteLoginProfile(ctx, n)
	})},
}

// onKeyOwner authorizes GetAccessKeyLastUsed on the key's user (looked up
// first: a read; a key that does not exist is authorized on the caller
// and then answered NoSuchEntity).
func onKeyOwner(s *Server, q *queryRequest) string {
	lu, err := s.ids.GetAccessKeyLastUsed(q.Context(), q.get("AccessKeyId"))
	if err != nil {
		return s.iamARN("user", q.id.Principal.Username)
	}
	return s.iamARN("user", lu.UserName)
}

func groupsResult(gs []iam.Group, next string) any {
	out := struct {
		Groups memberList[groupXML] `xml:"Groups"`
		page
	}{page: pageOf(next)}
	for _, g := range gs {
		out.Groups.Member = append(out.Groups.Member, groupOf(g))
	}
	return out
}

// entityCall runs fn on the required parameter param, with no result.
func entityCall(param string, fn func(ctx context.Context, s *Server, name string) error) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		v, err := q.required(param)
		if err != nil {
			return nil, err
		}
		return nil, fn(ctx, s, v)
	}
}

func twoNames(q *queryRequest, a, b string, fn func(a, b string) error) error {
	_, err := twoValues(q, a, b, func(x, y string) (any, error) { return nil, fn(x, y) })
	return err
}

func twoValues(q *queryRequest, a, b string, fn func(a, b string) (any, error)) (any, error) {
	x, err := q.required(a)
	if err != nil {
		return nil, err
	}
	y, err := q.required(b)
	if err != nil {
		return nil, err
	}
	return fn(x, y)
}

func putInline(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required(param)
		if err != nil {
			return nil, err
		}
		return twoValues(q, "PolicyName", "PolicyDocument", func(pn, doc string) (any, error) {
			return nil, s.ids.PutInlinePolicy(ctx, entity(name), pn, doc)
		})
	}
}

func getInline(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, param, "PolicyName", func(name, pn string) (any, error) {
			doc, err := s.ids.GetInlinePolicy(ctx, entity(name), pn)
			if err != nil {
				return nil, err
			}
			return inlineResult{entity: param, name: name, policyName: pn, document: policyText(doc)}, nil
		})
	}
}

func deleteInline(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, param, "PolicyName", func(name, pn string) (any, error) {
			return nil, s.ids.DeleteInlinePolicy(ctx, entity(name), pn)
		})
	}
}

func listInline(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required(param)
		if err != nil {
			return nil, err
		}
		names, err := s.ids.ListInlinePolicies(ctx, entity(name))
		if err != nil {
			return nil, err
		}
		return struct {
			PolicyNames memberList[string] `xml:"PolicyNames"`
			page
		}{PolicyNames: memberList[string]{Member: names}}, nil
	}
}

func attachCall(entity func(string) iam.Entity, param string, attach bool) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		return twoValues(q, param, "PolicyArn", func(name, arn string) (any, error) {
			if attach {
				return nil, s.ids.AttachPolicy(ctx, entity(name), arn)
			}
			return nil, s.ids.DetachPolicy(ctx, entity(name), arn)
		})
	}
}

func listAttached(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required(param)
		if err != nil {
			return nil, err
		}
		ps, err := s.ids.ListAttachedPolicies(ctx, entity(name))
		if err != nil {
			return nil, err
		}
		out := struct {
			AttachedPolicies memberList[attachedXML] `xml:"AttachedPolicies"`
			page
		}{}
		for _, p := range ps {
			out.AttachedPolicies.Member = append(out.AttachedPolicies.Member, attachedXML{p.PolicyName, p.PolicyARN})
		}
		return out, nil
	}
}

// tagCall adds the request's Tags to the entity named by param.
func tagCall(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required(param)
		if err != nil {
			return nil, err
		}
		tags := q.tags()
		if len(tags) == 0 {
			return nil, apiErr(ErrValidationError, "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
		}
		return nil, s.ids.TagEntity(ctx, entity(name), tags)
	}
}

// untagCall removes the TagKeys from the entity named by param.
func untagCall(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required(param)
		if err != nil {
			return nil, err
		}
		return nil, s.ids.UntagEntity(ctx, entity(name), q.list("TagKeys"))
	}
}

// listTagsCall lists the tags of the entity named by param.
func listTagsCall(entity func(string) iam.Entity, param string) func(context.Context, *Server, *queryRequest) (any, error) {
	return func(ctx context.Context, s *Server, q *queryRequest) (any, error) {
		name, err := q.required(param)
		if err != nil {
			return nil, err
		}
		tags, err := s.ids.ListEntityTags(ctx, entity(name))
		if err != nil {
			return nil, err
		}
		out := struct {
			Tags memberList[iamTag] `xml:"Tags"`
			page
		}{}
		if t := tagsXML(tags); t != nil {
			out.Tags = *t
		}
		return out, nil
	}
}

// inlineResult is Get{User,Group,Role}PolicyResult, whose first element
// names the entity (UserName, GroupName, RoleName).
type inlineResult struct {
	entity, name, policyName, document string
}

func (r inlineResult) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, f := range [][2]string{{r.entity, r.name}, {"PolicyName", r.policyName}, {"PolicyDocument", r.document}} {
		if err := e.EncodeElement(f[1], xml.StartElement{Name: xml.Name{Local: f[0]}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}
