package client

import (
	"fmt"
	"strings"
)

// AliasRecord is an alias as `alias list` shows it: never its secret.
type AliasRecord struct {
	Name      string `json:"name"`
	URL       string `json:"url,omitempty"`
	Region    string `json:"region,omitempty"`
	PathStyle string `json:"path_style,omitempty"`
	Kind      string `json:"credentials"`
	AccessKey string `json:"access_key,omitempty"`
	Profile   string `json:"profile,omitempty"`
	Source    string `json:"source"`
}

func (c *Client) aliasRecord(a Alias) AliasRecord {
	r := AliasRecord{Name: a.Name, URL: a.URL, Region: a.Region, PathStyle: a.PathStyle, Kind: a.Credentials.Kind,
		AccessKey: a.Credentials.AccessKey, Profile: a.Credentials.Profile}
	if src, err := c.cfg.source(a); err == nil {
		r.Source = src.Describe()
	} else {
		r.Source = err.Error()
	}
	return r
}

// AliasSet stores an alias (replacing one of that name).
func (c *Client) AliasSet(a Alias) error {
	if err := c.aliases.Set(a); err != nil {
		return err
	}
	rec := c.aliasRecord(a)
	return c.out.emit(rec, func() string {
		return fmt.Sprintf("alias %s set: %s (%s), saved in %s", a.Name, orAWS(a.URL), rec.Source, c.aliases.Path())
	})
}

// AliasList prints every alias, without secrets.
func (c *Client) AliasList() error {
	list, err := c.aliases.List()
	if err != nil {
		return err
	}
	for _, a := range list {
		rec := c.aliasRecord(a)
		if err := c.out.emit(rec, func() string {
			return strings.TrimRight(fmt.Sprintf("%-12s %-32s %s", a.Name, orAWS(a.URL), rec.Source), " ")
		}); err != nil {
			return err
		}
	}
	return nil
}

// AliasRemove deletes an alias.
func (c *Client) AliasRemove(name string) error {
	if err := c.aliases.Remove(name); err != nil {
		return err
	}
	return c.out.emit(map[string]string{"op": "alias remove", "name": name}, func() string { return "alias " + name + " removed" })
}

func orAWS(u string) string {
	if u == "" {
		return "AWS (regional endpoint)"
	}
	return u
}
