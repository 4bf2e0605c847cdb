package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/filesphere/filesphere/client/login"
	"github.com/spf13/cobra"
)

// loginFlags are the settings of login and credentials.
type loginFlags struct {
	endpoint  string
	clientID  string
	profile   string
	configDir string
	roleARN   string
	duration  int
	device    bool
	noBrowser bool
	awsConfig string
	caCert    string
}

func (f *loginFlags) config(cmd *cobra.Command) (login.Config, error) {
	cfg := login.Config{Endpoint: f.endpoint, ClientID: f.clientID, Profile: f.profile, Dir: f.configDir,
		RoleARN: f.roleARN, DurationSeconds: f.duration, Out: cmd.ErrOrStderr()}
	hc := &http.Client{Timeout: 30 * time.Second}
	if f.caCert != "" {
		tc, err := clientTLS(f.caCert, false)
		if err != nil {
			return cfg, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		hc.Transport = tr
	}
	cfg.HTTPClient = hc
	if !f.noBrowser {
		cfg.OpenBrowser = openBrowser
	}
	return cfg, nil
}

func addLoginFlags(cmd *cobra.Command, f *loginFlags) {
	fs := cmd.Flags()
	fs.StringVar(&f.profile, "profile", "default", "name of the login (one per endpoint or identity)")
	fs.StringVar(&f.configDir, "config-dir", "", "where logins are kept (default $FILESPHERE_CONFIG_DIR, else ~/.config/filesphere)")
	fs.StringVar(&f.caCert, "ca-cert", "", "PEM file of CA certificates to trust for an https endpoint, besides the system's")
}

func newLoginCmd() *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a FileSphere endpoint with OAuth2 and keep a refresh token for short-lived S3 credentials",
		Long: `Log in to a FileSphere endpoint's built-in OAuth2 authorization server: a browser opens the
login page (authorization code with PKCE, answered on a loopback port), or with --device a code is
printed to enter on any device with a browser. The refresh token is kept in a 0600 file; then
'filesphere credentials --profile NAME' hands the aws cli, boto3 and every SDK fresh short-lived
S3 credentials through the credential_process setting, which login offers to write into the aws
config. The client id is that of a public client an admin registered:
  filesphere admin oauth client add cli --grant authorization_code --redirect-uri http://127.0.0.1/callback --public
  filesphere admin oauth client add cli-device --grant device_code --public`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			path, err := login.Login(cmd.Context(), cfg, f.device)
			if err != nil {
				return fmt.Errorf("login: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in; the refresh token is in %s\n", path)
			return offerAWSConfig(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.endpoint, "endpoint", "http://127.0.0.1:9000", "URL of the FileSphere S3 endpoint")
	fs.StringVar(&f.clientID, "client-id", "", "the public OAuth client id registered for the CLI")
	fs.BoolVar(&f.device, "device", false, "use the device grant: print a code to enter on another device (no browser here)")
	fs.BoolVar(&f.noBrowser, "no-browser", false, "only print the login URL, do not open a browser")
	fs.StringVar(&f.roleARN, "role-arn", "", "role to exchange the login for (default: your own user)")
	fs.IntVar(&f.duration, "duration-seconds", 0, "lifetime of the S3 credentials (default: the server's; never past the ID token)")
	fs.StringVar(&f.awsConfig, "aws-config", "ask", "write credential_process into the aws config for --profile: yes, no, or ask (when interactive)")
	addLoginFlags(cmd, &f)
	return cmd
}

// credentialProcessLine is the command the aws config runs.
func credentialProcessLine(f loginFlags) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	parts := []string{quoteArg(exe), "credentials", "--profile", quoteArg(f.profile)}
	if f.configDir != "" {
		parts = append(parts, "--config-dir", quoteArg(f.configDir))
	}
	if f.caCert != "" {
		parts = append(parts, "--ca-cert", quoteArg(f.caCert))
	}
	return strings.Join(parts, " "), nil
}

func quoteArg(s string) string {
	if strings.ContainsAny(s, " \t\"'") {
		return strconv.Quote(s)
	}
	return s
}

func offerAWSConfig(cmd *cobra.Command, f loginFlags) error {
	line, err := credentialProcessLine(f)
	if err != nil {
		return err
	}
	path, err := login.AWSConfigPath()
	if err != nil {
		return err
	}
	write := false
	switch f.awsConfig {
	case "yes":
		write = true
	case "no":
	case "ask":
		if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "Write \"credential_process = %s\" for profile %s into %s? [y/N] ", line, f.profile, path)
			ans, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			write = strings.EqualFold(strings.TrimSpace(ans), "y") || strings.EqualFold(strings.TrimSpace(ans), "yes")
		}
	default:
		return fmt.Errorf("--aws-config must be yes, no or ask")
	}
	if !write {
		fmt.Fprintf(cmd.OutOrStdout(), "For the aws cli and SDKs, add to the profile's section of %s:\n  credential_process = %s\n", path, line)
		return nil
	}
	if err := login.WriteCredentialProcess(path, f.profile, line); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Wrote credential_process for profile %s into %s\n", f.profile, path)
	return nil
}

func newCredentialsCmd() *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print short-lived S3 credentials of a login, as the aws credential_process protocol reads them",
		Long: `Print S3 credentials for a login made with 'filesphere login' as the JSON of the aws
credential_process protocol (Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration).
Credentials are reused while they last; new ones come through the refresh token (rotated on every
use) and STS AssumeRoleWithWebIdentity. Use it in the aws config:
  [profile NAME]
  credential_process = filesphere credentials --profile NAME`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			cfg.OpenBrowser = nil
			c, err := login.Credentials(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("credentials: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(c)
		},
	}
	addLoginFlags(cmd, &f)
	return cmd
}

// openBrowser opens url with the desktop's handler.
func openBrowser(url string) error {
	var c *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		c = exec.Command("open", url)
	case "windows":
		c = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		c = exec.Command("xdg-open", url)
	}
	return c.Start()
}
