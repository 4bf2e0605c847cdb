package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
)

// The user, group, policy and key verbs are IAM Query API calls, signed
// for the service "iam" by aws-sdk-go-v2's IAM client exactly as the aws
// cli signs them, so they are authorized like any other IAM request.

// iamClient is an IAM client for the admin flags' endpoint and keys.
func (f *adminFlags) iamClient() (*iam.Client, error) {
	creds, err := f.credentials()
	if err != nil {
		return nil, err
	}
	cfg := aws.Config{Region: f.region, HTTPClient: f.client, Credentials: credentials.StaticCredentialsProvider{Value: creds}}
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(strings.TrimRight(f.endpoint, "/")) }), nil
}

// iamRun wraps a verb: it builds the client and words errors as one line
// prefixed by the command ("user create: EntityAlreadyExists: …").
func iamRun(f *adminFlags, run func(ctx context.Context, c *iam.Client, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := f.iamClient()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if err := run(ctx, c, cmd, args); err != nil {
			label := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" admin ")
			var ae smithy.APIError
			if errors.As(err, &ae) {
				return fmt.Errorf("%s: %s: %s", label, ae.ErrorCode(), ae.ErrorMessage())
			}
			return fmt.Errorf("%s: %w", label, err)
		}
		return nil
	}
}

func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// readPolicy reads a policy document from a file, or stdin for "-".
func readPolicy(cmd *cobra.Command, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// policyARN accepts a managed policy's ARN or its name (looked up).
func policyARN(ctx context.Context, c *iam.Client, nameOrARN string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	p := iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, pol := range page.Policies {
			if aws.ToString(pol.PolicyName) == nameOrARN {
				return aws.ToString(pol.Arn), nil
			}
		}
	}
	return "", fmt.Errorf("no managed policy named %q", nameOrARN)
}

func newUserCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage IAM users (create, list, info, delete, policies)"}
	var path string
	create := &cobra.Command{Use: "create NAME", Short: "Create a user (then give it a key: admin key create NAME)", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			in := &iam.CreateUserInput{UserName: &a[0]}
			if path != "" {
				in.Path = &path
			}
			out, err := c.CreateUser(ctx, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created user %s (%s)\n", aws.ToString(out.User.UserName), aws.ToString(out.User.Arn))
			return nil
		})}
	create.Flags().StringVar(&path, "path", "", "IAM path of the user (e.g. /team/)")
	list := &cobra.Command{Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, _ []string) error {
			var rows [][]string
			p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, u := range page.Users {
					rows = append(rows, []string{aws.ToString(u.UserName), aws.ToString(u.UserId), aws.ToString(u.Path), day(u.CreateDate)})
				}
			}
			return table(cmd.OutOrStdout(), "NAME\tUSER ID\tPATH\tCREATED", rows)
		})}
	info := &cobra.Command{Use: "info NAME", Short: "Show a user with its groups, policies and keys", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			return userInfo(ctx, c, cmd.OutOrStdout(), a[0])
		})}
	del := &cobra.Command{Use: "delete NAME", Short: "Delete a user (its keys, policies and groups must be removed first)", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &a[0]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted user %s\n", a[0])
			return nil
		})}
	cmd.AddCommand(create, list, info, del, newPolicyVerbs(f, "user"), newPasswdCmd(f))
	return cmd
}

func userInfo(ctx context.Context, c *iam.Client, w io.Writer, name string) error {
	u, err := c.GetUser(ctx, &iam.GetUserInput{UserName: &name})
	if err != nil {
		return err
	}
	groups, err := c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: &name})
	if err != nil {
		return err
	}
	inline, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: &name})
	if err != nil {
		return err
	}
	attached, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: &name})
	if err != nil {
		return err
	}
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: &name})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "User:     %s\nARN:      %s\nUser ID:  %s\nCreated:  %s\n", aws.ToString(u.User.UserName), aws.ToString(u.User.Arn),
		aws.ToString(u.User.UserId), day(u.User.CreateDate))
	var gs, ps []string
	for _, g := range groups.Groups {
		gs = append(gs, aws.ToString(g.GroupName))
	}
	ps = append(ps, inline.PolicyNames...)
	for _, p := range attached.AttachedPolicies {
		ps = append(ps, aws.ToString(p.PolicyArn))
	}
	fmt.Fprintf(w, "Groups:   %s\nPolicies: %s\n", orNone(gs), orNone(ps))
	var rows [][]string
	for _, k := range keys.AccessKeyMetadata {
		rows = append(rows, []string{aws.ToString(k.AccessKeyId), string(k.Status), day(k.CreateDate)})
	}
	fmt.Fprintln(w, "Keys:")
	return table(w, "  ACCESS KEY\tSTATUS\tCREATED", indent(rows))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func indent(rows [][]string) [][]string {
	for _, r := range rows {
		r[0] = "  " + r[0]
	}
	return rows
}

// newPolicyVerbs are the policy verbs of users and groups: set and remove
// inline policies, attach and detach managed ones.
func newPolicyVerbs(f *adminFlags, kind string) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Inline and managed policies of a " + kind}
	set := &cobra.Command{Use: "set " + strings.ToUpper(kind) + " POLICY-NAME FILE", Short: "Put an inline policy (FILE - reads stdin)", Args: cobra.ExactArgs(3),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			doc, err := readPolicy(cmd, a[2])
			if err != nil {
				return err
			}
			if kind == "user" {
				_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &a[0], PolicyName: &a[1], PolicyDocument: &doc})
			} else {
				_, err = c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: &a[0], PolicyName: &a[1], PolicyDocument: &doc})
			}
			return err
		})}
	rm := &cobra.Command{Use: "remove " + strings.ToUpper(kind) + " POLICY-NAME", Short: "Delete an inline policy", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			var err error
			if kind == "user" {
				_, err = c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &a[0], PolicyName: &a[1]})
			} else {
				_, err = c.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: &a[0], PolicyName: &a[1]})
			}
			return err
		})}
	attach := &cobra.Command{Use: "attach " + strings.ToUpper(kind) + " POLICY", Short: "Attach a managed policy (name or ARN)", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			arn, err := policyARN(ctx, c, a[1])
			if err != nil {
				return err
			}
			if kind == "user" {
				_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &a[0], PolicyArn: &arn})
			} else {
				_, err = c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: &a[0], PolicyArn: &arn})
			}
			return err
		})}
	detach := &cobra.Command{Use: "detach " + strings.ToUpper(kind) + " POLICY", Short: "Detach a managed policy (name or ARN)", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			arn, err := policyARN(ctx, c, a[1])
			if err != nil {
				return err
			}
			if kind == "user" {
				_, err = c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &a[0], PolicyArn: &arn})
			} else {
				_, err = c.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: &a[0], PolicyArn: &arn})
			}
			return err
		})}
	cmd.AddCommand(set, rm, attach, detach)
	return cmd
}

func newGroupCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage IAM groups (create, list, members, policies)"}
	create := &cobra.Command{Use: "create NAME", Short: "Create a group", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			out, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: &a[0]})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created group %s (%s)\n", aws.ToString(out.Group.GroupName), aws.ToString(out.Group.Arn))
			return nil
		})}
	list := &cobra.Command{Use: "list", Short: "List groups and their members", Args: cobra.NoArgs,
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, _ []string) error {
			var rows [][]string
			p := iam.NewListGroupsPaginator(c, &iam.ListGroupsInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, g := range page.Groups {
					members, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: g.GroupName})
					if err != nil {
						return err
					}
					var names []string
					for _, u := range members.Users {
						names = append(names, aws.ToString(u.UserName))
					}
					rows = append(rows, []string{aws.ToString(g.GroupName), orNone(names), day(g.CreateDate)})
				}
			}
			return table(cmd.OutOrStdout(), "NAME\tMEMBERS\tCREATED", rows)
		})}
	add := &cobra.Command{Use: "add GROUP USER", Short: "Add a user to a group", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			_, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: &a[0], UserName: &a[1]})
			return err
		})}
	remove := &cobra.Command{Use: "remove GROUP USER", Short: "Remove a user from a group", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			_, err := c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: &a[0], UserName: &a[1]})
			return err
		})}
	del := &cobra.Command{Use: "delete NAME", Short: "Delete an empty group without policies", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			_, err := c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: &a[0]})
			return err
		})}
	cmd.AddCommand(create, list, add, remove, del, newPolicyVerbs(f, "group"))
	return cmd
}

func newManagedPolicyCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Manage customer managed policies (create, list, show, delete)"}
	var desc string
	create := &cobra.Command{Use: "create NAME FILE", Short: "Create a managed policy from a JSON file (- reads stdin)", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			doc, err := readPolicy(cmd, a[1])
			if err != nil {
				return err
			}
			in := &iam.CreatePolicyInput{PolicyName: &a[0], PolicyDocument: &doc}
			if desc != "" {
				in.Description = &desc
			}
			out, err := c.CreatePolicy(ctx, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created policy %s\n", aws.ToString(out.Policy.Arn))
			return nil
		})}
	create.Flags().StringVar(&desc, "description", "", "what the policy is for")
	list := &cobra.Command{Use: "list", Short: "List managed policies", Args: cobra.NoArgs,
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, _ []string) error {
			var rows [][]string
			p := iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, pol := range page.Policies {
					rows = append(rows, []string{aws.ToString(pol.PolicyName), aws.ToString(pol.Arn),
						fmt.Sprint(aws.ToInt32(pol.AttachmentCount)), aws.ToString(pol.DefaultVersionId)})
				}
			}
			return table(cmd.OutOrStdout(), "NAME\tARN\tATTACHED\tVERSION", rows)
		})}
	show := &cobra.Command{Use: "show POLICY", Short: "Print a managed policy's document (name or ARN)", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			arn, err := policyARN(ctx, c, a[0])
			if err != nil {
				return err
			}
			p, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
			if err != nil {
				return err
			}
			v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: p.Policy.DefaultVersionId})
			if err != nil {
				return err
			}
			doc, err := url.PathUnescape(aws.ToString(v.PolicyVersion.Document))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), doc)
			return nil
		})}
	del := &cobra.Command{Use: "delete POLICY", Short: "Delete a managed policy that is attached nowhere", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			arn, err := policyARN(ctx, c, a[0])
			if err != nil {
				return err
			}
			_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn})
			return err
		})}
	cmd.AddCommand(create, list, show, del)
	return cmd
}

func newKeyCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage users' access keys (create, list, enable, disable, delete)"}
	create := &cobra.Command{Use: "create USER", Short: "Create an access key; its secret is shown only now", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &a[0]})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Access key for %s (the secret is shown only now):\n", a[0])
			fmt.Fprintf(w, "  export AWS_ACCESS_KEY_ID=%s\n", aws.ToString(out.AccessKey.AccessKeyId))
			fmt.Fprintf(w, "  export AWS_SECRET_ACCESS_KEY=%s\n", aws.ToString(out.AccessKey.SecretAccessKey))
			return nil
		})}
	list := &cobra.Command{Use: "list USER", Short: "List a user's keys with their last use", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			out, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: &a[0]})
			if err != nil {
				return err
			}
			var rows [][]string
			for _, k := range out.AccessKeyMetadata {
				lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
				if err != nil {
					return err
				}
				last := "never"
				if lu.AccessKeyLastUsed != nil && lu.AccessKeyLastUsed.LastUsedDate != nil {
					last = day(lu.AccessKeyLastUsed.LastUsedDate) + " (" + aws.ToString(lu.AccessKeyLastUsed.ServiceName) + ")"
				}
				rows = append(rows, []string{aws.ToString(k.AccessKeyId), string(k.Status), day(k.CreateDate), last})
			}
			return table(cmd.OutOrStdout(), "ACCESS KEY\tSTATUS\tCREATED\tLAST USED", rows)
		})}
	status := func(use, short string, st iamtypes.StatusType) *cobra.Command {
		return &cobra.Command{Use: use + " USER ACCESS-KEY", Short: short, Args: cobra.ExactArgs(2),
			RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
				_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &a[0], AccessKeyId: &a[1], Status: st})
				return err
			})}
	}
	del := &cobra.Command{Use: "delete USER ACCESS-KEY", Short: "Delete an access key", Args: cobra.ExactArgs(2),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &a[0], AccessKeyId: &a[1]})
			return err
		})}
	cmd.AddCommand(create, list, status("enable", "Make a key active again", iamtypes.StatusTypeActive),
		status("disable", "Make a key inactive (refused until enabled)", iamtypes.StatusTypeInactive), del)
	return cmd
}
