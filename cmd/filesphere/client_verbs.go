package main

import (
	"context"
	"time"

	"github.com/filesphere/filesphere/client"
	"github.com/spf13/cobra"
)

// verb builds a client command with the shared flags.
func verb(use, short, long string, args cobra.PositionalArgs, f *clientFlags,
	fn func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long, Args: usageArgs(args), RunE: clientRun(f, fn)}
	cmd.SetFlagErrorFunc(flagUsageError)
	f.register(cmd.Flags())
	return cmd
}

const pathHelp = `Remote paths are ALIAS/bucket/key (see filesphere alias); anything else is a local path
(./NAME reaches a local file named like an alias).`

func newLsCmd() *cobra.Command {
	f, o := &clientFlags{}, client.LsOptions{}
	cmd := verb("ls ALIAS[/bucket[/prefix]]", "List buckets, or the objects and folders under a bucket or prefix",
		`List the buckets of an alias, or one level of a bucket or prefix (folders end in "/"),
every key below it with -r, or every version and delete marker with --versions (the
latest marked "*").

`+pathHelp, cobra.ExactArgs(1), f, func(ctx context.Context, c *client.Client, args []string) error {
			return c.Ls(ctx, args[0], o)
		})
	cmd.Flags().BoolVarP(&o.Recursive, "recursive", "r", false, "every key below the prefix")
	cmd.Flags().BoolVar(&o.Versions, "versions", false, "every version and delete marker")
	return cmd
}

func newCpCmd(move bool) *cobra.Command {
	f, o := &clientFlags{}, client.CpOptions{}
	use, short, long := "cp SOURCE... TARGET", "Copy files and objects (local↔remote, remote↔remote)",
		`Copy files and objects: local to remote, remote to local, and remote to remote (within
one endpoint the server copies; between endpoints the bytes stream through this machine).

With several sources or -r, TARGET is a folder; with -r, the contents of each source
folder or prefix go below it. Files from --multipart-threshold on are uploaded in
parallel parts; such an upload, interrupted (Ctrl-C, a crash, a lost connection), resumes
when the same command is run again: it asks the server which parts it has and sends only
the others (a source changed since then starts over). Progress bars with rate and ETA
are drawn on a terminal, never when stderr is piped or with --json/--quiet.`
	run := func(ctx context.Context, c *client.Client, args []string) error { return c.Cp(ctx, args, o) }
	if move {
		use, short = "mv SOURCE... TARGET", "Move files and objects (copy, then remove each source)"
		long = "Move files and objects: cp, then each source is removed once its copy is complete (a\nlocal folder moved with -r is removed when it is left empty).\n\n" + pathHelp
		run = func(ctx context.Context, c *client.Client, args []string) error { return c.Mv(ctx, args, o) }
	} else {
		long += "\n\n" + pathHelp
	}
	cmd := verb(use, short, long, cobra.MinimumNArgs(2), f, run)
	cmd.Flags().BoolVarP(&o.Recursive, "recursive", "r", false, "copy folders and prefixes with everything below them")
	if !move {
		cmd.Flags().StringVar(&o.VersionID, "version-id", "", "copy this version of the (one) source object")
	}
	f.registerTransfer(cmd.Flags())
	return cmd
}

func newRmCmd() *cobra.Command {
	f, o := &clientFlags{}, client.RmOptions{}
	cmd := verb("rm ALIAS/bucket/key...", "Remove objects (or versions)",
		`Remove objects. In a versioned bucket the data stays under a delete marker (see versions
and restore) unless --versions removes every version for good, or --version-id one.
-r removes everything below a prefix (treated as a folder); emptying a whole bucket also
needs --force.`, cobra.MinimumNArgs(1), f, func(ctx context.Context, c *client.Client, args []string) error {
			return c.Rm(ctx, args, o)
		})
	fs := cmd.Flags()
	fs.BoolVarP(&o.Recursive, "recursive", "r", false, "remove everything below the prefix")
	fs.BoolVar(&o.Versions, "versions", false, "remove every version and delete marker, for good")
	fs.StringVar(&o.VersionID, "version-id", "", "remove this one version, for good")
	fs.BoolVar(&o.Force, "force", false, "allow rm -r of a whole bucket")
	return cmd
}

func newMbCmd() *cobra.Command {
	f, o := &clientFlags{}, client.MbOptions{}
	cmd := verb("mb ALIAS/bucket", "Make a bucket", "", cobra.ExactArgs(1), f,
		func(ctx context.Context, c *client.Client, args []string) error { return c.Mb(ctx, args[0], o) })
	fs := cmd.Flags()
	fs.StringVar(&o.Region, "region", "", "the bucket's region (default the alias's)")
	fs.BoolVar(&o.Versioning, "versioning", false, "turn versioning on")
	fs.BoolVar(&o.IgnoreExisting, "ignore-existing", false, "no error when the bucket exists and is yours")
	return cmd
}

func newRbCmd() *cobra.Command {
	f, o := &clientFlags{}, client.RbOptions{}
	cmd := verb("rb ALIAS/bucket", "Remove a bucket", "Remove an empty bucket; --force first removes every object, version, delete marker\nand unfinished upload in it.",
		cobra.ExactArgs(1), f, func(ctx context.Context, c *client.Client, args []string) error { return c.Rb(ctx, args[0], o) })
	cmd.Flags().BoolVar(&o.Force, "force", false, "remove everything in the bucket first")
	return cmd
}

func newCatCmd() *cobra.Command {
	f := &clientFlags{}
	var version string
	cmd := verb("cat ALIAS/bucket/key...", "Write objects to stdout", "", cobra.MinimumNArgs(1), f,
		func(ctx context.Context, c *client.Client, args []string) error { return c.Cat(ctx, args, version) })
	cmd.Flags().StringVar(&version, "version-id", "", "write this version")
	return cmd
}

func newStatCmd() *cobra.Command {
	f := &clientFlags{}
	var version string
	cmd := verb("stat ALIAS/bucket[/key]", "Describe an object (size, ETag, checksums, metadata) or a bucket", "",
		cobra.ExactArgs(1), f, func(ctx context.Context, c *client.Client, args []string) error { return c.Stat(ctx, args[0], version) })
	cmd.Flags().StringVar(&version, "version-id", "", "describe this version")
	return cmd
}

func newShareCmd() *cobra.Command {
	f, o := &clientFlags{}, client.ShareOptions{}
	var expire string
	cmd := verb("share ALIAS/bucket/key", "Print a presigned URL to download (or upload) an object without credentials",
		`Print a presigned URL: whoever holds it can GET the object (with --upload: PUT to the key)
until it expires, up to 7 days. A URL signed with temporary credentials (an aws profile
with a role or SSO) stops working when those expire.`, cobra.ExactArgs(1), f,
		func(ctx context.Context, c *client.Client, args []string) error {
			d, err := client.ParseDuration(expire)
			if err != nil {
				return err
			}
			o.Expire = d
			return c.Share(ctx, args[0], o)
		})
	fs := cmd.Flags()
	fs.StringVar(&expire, "expire", "7d", "lifetime of the URL: 90m, 12h, 7d (at most)")
	fs.BoolVar(&o.Upload, "upload", false, "presign a PUT instead of a GET")
	fs.StringVar(&o.VersionID, "version-id", "", "share this version")
	return cmd
}

func newVersionsCmd() *cobra.Command {
	f, o := &clientFlags{}, client.VersionsOptions{}
	cmd := verb("versions ALIAS/bucket[/key]", "List an object's versions, or show or set a bucket's versioning",
		`With a key: list its versions and delete markers, newest first (the latest marked "*");
restore brings one back. With a bucket: show its versioning, or change it with --enable or
--suspend.`, cobra.ExactArgs(1), f, func(ctx context.Context, c *client.Client, args []string) error {
			return c.Versions(ctx, args[0], o)
		})
	cmd.Flags().BoolVar(&o.Enable, "enable", false, "turn the bucket's versioning on")
	cmd.Flags().BoolVar(&o.Suspend, "suspend", false, "suspend the bucket's versioning")
	return cmd
}

func newRestoreCmd() *cobra.Command {
	f := &clientFlags{}
	var version string
	cmd := verb("restore ALIAS/bucket/key --version ID", "Make an old version of an object the current one",
		"Copy an old version onto its key, as a new version; the history is kept.", cobra.ExactArgs(1), f,
		func(ctx context.Context, c *client.Client, args []string) error {
			return c.Restore(ctx, args[0], version)
		})
	cmd.Flags().StringVar(&version, "version", "", "the version to restore (see filesphere versions)")
	return cmd
}

func newMirrorCmd() *cobra.Command {
	f, o := &clientFlags{}, client.MirrorOptions{}
	cmd := verb("mirror SOURCE TARGET", "Make TARGET hold what SOURCE holds (folders or prefixes)",
		`Copy what is new or changed from SOURCE to TARGET, folders or prefixes, local↔remote or
remote↔remote (like rclone sync). Changed means another size, another ETag (objects on
both sides), or a newer modification time (more than 1 s) unless a single-part ETag shows
the content equal. --remove also deletes what TARGET has and SOURCE has not (only after
every copy succeeded); --dry-run prints the plan and changes nothing.

`+pathHelp, cobra.ExactArgs(2), f, func(ctx context.Context, c *client.Client, args []string) error {
			return c.Mirror(ctx, args[0], args[1], o)
		})
	cmd.Flags().BoolVar(&o.Remove, "remove", false, "delete what the target has and the source has not")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the plan, change nothing")
	f.registerTransfer(cmd.Flags())
	return cmd
}

func newDuCmd() *cobra.Command {
	f, o := &clientFlags{}, client.DuOptions{}
	cmd := verb("du ALIAS/bucket[/prefix]", "Sum the objects and bytes under a bucket or prefix", "", cobra.ExactArgs(1), f,
		func(ctx context.Context, c *client.Client, args []string) error { return c.Du(ctx, args[0], o) })
	cmd.Flags().BoolVar(&o.Versions, "versions", false, "count every version, noncurrent ones too")
	cmd.Flags().IntVarP(&o.Depth, "depth", "d", 0, "1: also a line per first-level folder")
	return cmd
}

func newFindCmd() *cobra.Command {
	f, o := &clientFlags{}, client.FindOptions{}
	var newer, older, larger, smaller string
	cmd := verb("find ALIAS/bucket[/prefix]", "Find objects by name, age, size or SHA-256",
		`List the objects below a bucket or prefix that pass every filter given.

--sha256 HEX is checked on this side: one HEAD (checksum mode) per candidate, matching the
full-object SHA-256 checksum the server keeps (x-amz-checksum-sha256). Objects stored
without one never match: multipart uploads, and uploads by tools that send no SHA-256
(filesphere cp sends one with every single-part upload). A server-side lookup by content
is a later extension.`, cobra.ExactArgs(1), f, func(ctx context.Context, c *client.Client, args []string) error {
			var err error
			now := time.Now()
			if newer != "" {
				if o.Newer, err = client.ParseAge(newer, now); err != nil {
					return err
				}
			}
			if older != "" {
				if o.Older, err = client.ParseAge(older, now); err != nil {
					return err
				}
			}
			o.Larger, o.Smaller = -1, -1
			if larger != "" {
				if o.Larger, err = client.ParseSize(larger); err != nil {
					return err
				}
			}
			if smaller != "" {
				if o.Smaller, err = client.ParseSize(smaller); err != nil {
					return err
				}
			}
			return c.Find(ctx, args[0], o)
		})
	fs := cmd.Flags()
	fs.StringVar(&o.Name, "name", "", "glob over the last part of the key, e.g. '*.jpg'")
	fs.StringVar(&newer, "newer", "", "modified less than this long ago (90m, 7d) or after this date (2026-01-02)")
	fs.StringVar(&older, "older", "", "modified longer ago than this, or before this date")
	fs.StringVar(&larger, "larger", "", "larger than this size (e.g. 10MiB)")
	fs.StringVar(&smaller, "smaller", "", "smaller than this size")
	fs.StringVar(&o.SHA256, "sha256", "", "full-object SHA-256 (64 hex digits); see above")
	return cmd
}
