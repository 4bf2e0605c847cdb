package login

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// AWSConfigPath is the aws config file: $AWS_CONFIG_FILE, else
// ~/.aws/config.
func AWSConfigPath() (string, error) {
	if p := os.Getenv("AWS_CONFIG_FILE"); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".aws", "config"), nil
}

// WriteCredentialProcess sets credential_process = command in the aws
// config section of profile ("default" is [default], others
// [profile NAME]), adding the section if it is missing and leaving every
// other line as it was.
func WriteCredentialProcess(path, profile, command string) error {
	if strings.ContainsAny(command, "\r\n") || strings.ContainsAny(profile, "[]\r\n") {
		return errors.New("the profile or command contains a line break or bracket")
	}
	section := "profile " + profile
	if profile == "default" {
		section = "default"
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var out bytes.Buffer
	line := "credential_process = " + command
	in, done := false, false
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		t := sc.Text()
		trim := strings.TrimSpace(t)
		if strings.HasPrefix(trim, "[") && strings.HasSuffix(trim, "]") {
			if in && !done {
				out.WriteString(line + "\n")
				done = true
			}
			in = strings.TrimSpace(trim[1:len(trim)-1]) == section
		} else if in {
			if k, _, ok := strings.Cut(trim, "="); ok && strings.TrimSpace(k) == "credential_process" {
				if !done {
					out.WriteString(line + "\n")
					done = true
				}
				continue
			}
		}
		out.WriteString(t + "\n")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if in && !done {
		out.WriteString(line + "\n")
		done = true
	}
	if !done {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n\n")) {
			out.WriteString("\n")
		}
		out.WriteString("[" + section + "]\n" + line + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".filesphere-tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
