package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// The admin oauth verbs: OAuth clients, signing keys and external issuers
// of the built-in authorization server, over the admin API. And admin user
// passwd, a user's login password (the IAM login profile) for the login
// page.

func newOAuthCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "oauth", Short: "Manage the OAuth2 authorization server (clients, signing keys, external issuers)"}
	cmd.AddCommand(newOAuthClientCmd(f), newOAuthKeyCmd(f), newOAuthIssuerCmd(f))
	return cmd
}

type oauthClientView struct {
	ID           string    `json:"client_id"`
	Name         string    `json:"name"`
	Grant        string    `json:"grant"`
	RedirectURIs []string  `json:"redirect_uris"`
	Public       bool      `json:"public"`
	User         string    `json:"user"`
	Created      time.Time `json:"created"`
	Secret       string    `json:"client_secret,omitempty"`
}

func newOAuthClientCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Register, list and remove OAuth clients"}
	var grant, user string
	var redirects []string
	var public, asJSON bool
	add := &cobra.Command{Use: "add NAME", Short: "Register a client; prints client_id (and, for a confidential client, client_secret: shown once)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			q := url.Values{"name": {a[0]}, "grant": {grant}}
			for _, r := range redirects {
				q.Add("redirect_uri", r)
			}
			if public {
				q.Set("public", "true")
			}
			if user != "" {
				q.Set("user", user)
			}
			body, err := f.call(cmd, http.MethodPost, "/oauth/clients?"+q.Encode())
			if err != nil {
				return err
			}
			if asJSON {
				_, err := cmd.OutOrStdout().Write(body)
				return err
			}
			var c oauthClientView
			if err := json.Unmarshal(body, &c); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "client_id: %s\n", c.ID)
			if c.Secret != "" {
				fmt.Fprintf(w, "client_secret: %s\n", c.Secret)
				fmt.Fprintln(cmd.ErrOrStderr(), "(the secret is shown only now; it is stored as a hash)")
			}
			return nil
		}}
	add.Flags().StringVar(&grant, "grant", "", "authorization_code (browsers, the CLI), device_code (headless machines) or client_credentials (services)")
	add.Flags().StringArrayVar(&redirects, "redirect-uri", nil, "a redirect URI (repeatable; https, or http on a loopback address where any port matches)")
	add.Flags().BoolVar(&public, "public", false, "a public client (no secret; PKCE protects it): the CLI, browser apps")
	add.Flags().StringVar(&user, "user", "", "client_credentials: the IAM user the client acts as")
	add.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	_ = add.MarkFlagRequired("grant")
	var listJSON bool
	list := &cobra.Command{Use: "list", Short: "List clients", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/oauth/clients")
			if err != nil {
				return err
			}
			if listJSON {
				_, err := cmd.OutOrStdout().Write(body)
				return err
			}
			var cs []oauthClientView
			if err := json.Unmarshal(body, &cs); err != nil {
				return err
			}
			var rows [][]string
			for _, c := range cs {
				kind := "confidential"
				if c.Public {
					kind = "public"
				}
				rows = append(rows, []string{c.Name, c.ID, c.Grant, kind, orDash(c.User), orDash(strings.Join(c.RedirectURIs, " "))})
			}
			return table(cmd.OutOrStdout(), "NAME\tCLIENT ID\tGRANT\tTYPE\tUSER\tREDIRECT URIS", rows)
		}}
	list.Flags().BoolVar(&listJSON, "json", false, "print the result as JSON")
	remove := &cobra.Command{Use: "remove NAME", Short: "Remove a client (its codes and tokens stop working at once)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if _, err := f.call(cmd, http.MethodDelete, "/oauth/clients?"+url.Values{"name": {a[0]}}.Encode()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed OAuth client %s\n", a[0])
			return nil
		}}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newOAuthKeyCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Rotate and list the token signing keys"}
	rotate := &cobra.Command{Use: "rotate", Short: "Make a new signing key; the old one stays in the JWKS until its tokens expire", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodPost, "/oauth/keys/rotate")
			if err != nil {
				return err
			}
			var k struct {
				ID string `json:"kid"`
			}
			if err := json.Unmarshal(body, &k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "New signing key %s\n", k.ID)
			return nil
		}}
	list := &cobra.Command{Use: "list", Short: "List the signing keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/oauth/keys")
			if err != nil {
				return err
			}
			var ks []struct {
				ID      string    `json:"kid"`
				Alg     string    `json:"alg"`
				Created time.Time `json:"created"`
				Retired time.Time `json:"retired"`
				Signing bool      `json:"signing"`
			}
			if err := json.Unmarshal(body, &ks); err != nil {
				return err
			}
			var rows [][]string
			for _, k := range ks {
				rows = append(rows, []string{k.ID, k.Alg, day(&k.Created), strconv.FormatBool(k.Signing), day(&k.Retired)})
			}
			return table(cmd.OutOrStdout(), "KID\tALG\tCREATED\tSIGNING\tRETIRED", rows)
		}}
	cmd.AddCommand(rotate, list)
	return cmd
}

func newOAuthIssuerCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "issuer", Short: "Register external OpenID Connect issuers whose tokens STS accepts"}
	var audiences, roles, claimRoles []string
	add := &cobra.Command{Use: "add URL", Short: "Register an issuer (its discovery document and JWKS are read now)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			q := url.Values{"url": {a[0]}, "audience": audiences, "role": roles, "claim_role": claimRoles}
			if _, err := f.call(cmd, http.MethodPost, "/oauth/issuers?"+q.Encode()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Registered issuer %s\n", a[0])
			return nil
		}}
	add.Flags().StringArrayVar(&audiences, "audience", nil, "an accepted aud (the client id the issuer's tokens are for; repeatable)")
	add.Flags().StringArrayVar(&roles, "role", nil, "a role ARN any of its tokens may assume (repeatable; the role's trust policy must still name the issuer)")
	add.Flags().StringArrayVar(&claimRoles, "claim-role", nil, "CLAIM=VALUE=ROLE_ARN: tokens whose claim has the value may assume the role (repeatable)")
	_ = add.MarkFlagRequired("audience")
	list := &cobra.Command{Use: "list", Short: "List registered issuers", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/oauth/issuers")
			if err != nil {
				return err
			}
			var is []struct {
				URL       string   `json:"url"`
				Audiences []string `json:"audiences"`
				Roles     []struct {
					Claim, Value string
					RoleARN      string `json:"role_arn"`
				} `json:"roles"`
			}
			if err := json.Unmarshal(body, &is); err != nil {
				return err
			}
			var rows [][]string
			for _, i := range is {
				var rs []string
				for _, r := range i.Roles {
					if r.Claim != "" {
						rs = append(rs, r.Claim+"="+r.Value+"="+r.RoleARN)
					} else {
						rs = append(rs, r.RoleARN)
					}
				}
				rows = append(rows, []string{i.URL, strings.Join(i.Audiences, ","), orDash(strings.Join(rs, " "))})
			}
			return table(cmd.OutOrStdout(), "ISSUER\tAUDIENCES\tROLES", rows)
		}}
	remove := &cobra.Command{Use: "remove URL", Short: "Unregister an issuer (its tokens are refused from then on)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if _, err := f.call(cmd, http.MethodDelete, "/oauth/issuers?"+url.Values{"url": {a[0]}}.Encode()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed issuer %s\n", a[0])
			return nil
		}}
	cmd.AddCommand(add, list, remove)
	return cmd
}

// newPasswdCmd sets a user's login password (CreateLoginProfile, or
// UpdateLoginProfile when the user has one), read from standard input.
func newPasswdCmd(f *adminFlags) *cobra.Command {
	var reset bool
	cmd := &cobra.Command{Use: "passwd NAME", Short: "Set a user's login password (read from standard input) for the OAuth2 login page", Args: cobra.ExactArgs(1),
		RunE: iamRun(f, func(ctx context.Context, c *iam.Client, cmd *cobra.Command, a []string) error {
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			_, err = c.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: &a[0], Password: &pw, PasswordResetRequired: &reset})
			var nse *iamtypes.NoSuchEntityException
			if errors.As(err, &nse) && strings.Contains(nse.ErrorMessage(), "Login Profile") {
				_, err = c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: &a[0], Password: &pw, PasswordResetRequired: reset})
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Set the login password of %s\n", a[0])
			return nil
		})}
	cmd.Flags().BoolVar(&reset, "reset-required", false, "mark the password as to be changed at next login")
	return cmd
}

// readPassword reads a password: asked twice without echo on a terminal,
// else the first line of standard input.
func readPassword(cmd *cobra.Command) (string, error) {
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	sc := bufio.NewScanner(cmd.InOrStdin())
	if !sc.Scan() {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(sc.Text(), "\r"), nil
}
