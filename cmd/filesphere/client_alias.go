package main

import (
	"bufio"
	"context"
	"strings"

	"github.com/filesphere/filesphere/client"
	"github.com/spf13/cobra"
)

func newAliasCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Name S3 endpoints and their credentials for the client verbs (ls, cp, ...)",
		Long: `An alias names an S3 endpoint (FileSphere, MinIO, AWS, any other) and where its
credentials come from; remote paths then start with it: ALIAS/bucket/key.

Aliases live in ~/.config/filesphere/config.json (or $FILESPHERE_CONFIG_DIR/config.json),
mode 0600, since static keys are kept there. alias list never prints a secret.`,
	}
	cmd.AddCommand(newAliasSetCmd(), newAliasListCmd(), newAliasRemoveCmd())
	return cmd
}

func newAliasSetCmd() *cobra.Command {
	f := &clientFlags{}
	var a client.Alias
	cmd := verb("set NAME [URL [ACCESS_KEY SECRET_KEY]]", "Add or replace an alias",
		`Add or replace an alias. Credentials come from, in this order:
  ACCESS_KEY SECRET_KEY   kept in the config file (SECRET_KEY "-" reads it from stdin,
                          keeping it out of the shell history);
  --profile NAME          an aws profile of ~/.aws/config and ~/.aws/credentials, read on
                          each use by the AWS SDK (credential_process, SSO, assume-role);
  neither                 the AWS environment on each use: AWS_ACCESS_KEY_ID/
                          AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, then the default profile.
An amazonaws.com URL, or none with --profile, means AWS: its regional endpoint and
virtual-host-style requests. Other endpoints get path-style requests (--path-style).`,
		cobra.RangeArgs(1, 4), f, func(_ context.Context, c *client.Client, args []string) error {
			// Here --ca-cert and --insecure are the alias's own settings.
			a.Name, a.CACert, a.Insecure = args[0], f.caCert, f.insecure
			if len(args) > 1 {
				a.URL = args[1]
			}
			switch {
			case len(args) == 3:
				return &client.UsageError{Msg: "alias set: give both ACCESS_KEY and SECRET_KEY"}
			case len(args) == 4 && a.Credentials.Profile != "":
				return &client.UsageError{Msg: "alias set: keys or --profile, not both"}
			case len(args) == 4:
				a.Credentials.Kind, a.Credentials.AccessKey, a.Credentials.SecretKey = client.KindStatic, args[2], args[3]
				if args[3] == "-" {
					line, err := bufio.NewReader(f.stdin).ReadString('\n')
					if strings.TrimSpace(line) == "" {
						return &client.UsageError{Msg: "alias set: SECRET_KEY \"-\": no secret on stdin (" + errText(err) + ")"}
					}
					a.Credentials.SecretKey = strings.TrimSpace(line)
				}
			case a.Credentials.Profile != "":
				a.Credentials.Kind = client.KindProfile
			case len(args) == 1:
				return &client.UsageError{Msg: "alias set: give URL (and keys), or --profile"}
			default:
				a.Credentials.Kind = client.KindEnv
			}
			return c.AliasSet(a)
		})
	cmd.PreRun = func(cmd *cobra.Command, _ []string) { f.stdin = cmd.InOrStdin() }
	fs := cmd.Flags()
	fs.StringVar(&a.Credentials.Profile, "profile", "", "use this aws profile's credentials (and region)")
	fs.StringVar(&a.Region, "region", "", "region to sign for (default: the profile's, else us-east-1)")
	fs.StringVar(&a.PathStyle, "path-style", "auto", "auto (path-style except for AWS), on or off")
	return cmd
}

func errText(err error) string {
	if err == nil {
		return "empty line"
	}
	return err.Error()
}

func newAliasListCmd() *cobra.Command {
	f := &clientFlags{}
	return verb("list", "List the aliases (never their secrets)", "", cobra.NoArgs, f,
		func(_ context.Context, c *client.Client, _ []string) error { return c.AliasList() })
}

func newAliasRemoveCmd() *cobra.Command {
	f := &clientFlags{}
	return verb("remove NAME", "Remove an alias", "", cobra.ExactArgs(1), f,
		func(_ context.Context, c *client.Client, args []string) error { return c.AliasRemove(args[0]) })
}
