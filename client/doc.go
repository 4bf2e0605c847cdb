// Package client is the S3 client behind the filesphere client verbs
// (alias, ls, cp, mv, rm, mb, rb, cat, stat, share, versions, restore,
// mirror, du, find). It works against any S3 endpoint — FileSphere, MinIO,
// AWS — through aws-sdk-go-v2, whose shared configuration gives aws
// profiles (credential_process, SSO, assume-role) and the AWS_* variables
// for free. It imports no other FileSphere package.
//
// # Paths and aliases
//
// A remote path is ALIAS/bucket/key; ALIAS names an endpoint and its
// credentials in <Dir>/config.json (mode 0600). Everything else is a local
// path; ./NAME reaches a local file named like an alias. Custom endpoints
// get path-style requests, AWS (an amazonaws.com URL, or none) virtual-host
// style. Credentials come from a CredentialSource chosen by the alias's
// kind: "static" keys, an aws "profile", or the SDK's "env" chain; a later
// `filesphere login` adds its kind to Config.Sources.
//
// # Transfers
//
// Files below Config.MultipartThreshold go in one PUT carrying their
// SHA-256 (x-amz-checksum-sha256, verified by the server, kept as the
// object's checksum); larger ones in PartJobs parallel parts, each with its
// Content-MD5. Bodies are sent with UNSIGNED-PAYLOAD, since each carries
// its own checksum: read once from disk to hash, once as sent, never held
// in memory. A multipart upload from a file records its state (upload id,
// part size, finished parts and ETags, the source's size and mtime) in
// <Dir>/uploads/, keyed by source and destination; the same command run
// again lists the upload's parts and sends only the missing ones, or, when
// the source changed, aborts the stale upload and starts over. Downloads
// stream into a temporary file renamed into place, verified by the
// object's full-object checksum when it has one, and take the object's
// modification time. Copies within one endpoint are done by the server
// (CopyObject, UploadPartCopy above 5 GiB); between endpoints the bytes
// stream through, at most PartJobs+1 parts in memory.
//
// # Exit codes
//
//	0    everything done
//	1    a request or local operation failed (for several items: any)
//	2    the command line is wrong (unknown flag, alias or argument)
//	130  interrupted (Ctrl-C, SIGTERM); an interrupted upload resumes
//
// # Output
//
// Text for people by default; errors are one line on stderr,
// "filesphere: VERB PATH: Code: Message (request ID)" with the server's
// own message. With --json every verb prints NDJSON on stdout, one object
// per line (a listing one per entry, other verbs one per result), and an
// error is one JSON object on stderr:
//
//	{"error":{"op":"rm","target":"fs/b/k","code":"AccessDenied","status":403,
//	  "message":"rm fs/b/k: AccessDenied: Access Denied. (request 1A2B)","request_id":"1A2B"},"exit":1}
//
// The records (fields marked omitempty in the types may be absent):
//
//	ls, find, versions   ObjectInfo   {"type":"object|prefix|bucket|version|delete-marker","path":"fs/b/k",
//	                                   "bucket":"b","key":"k","size":5,"last_modified":"2026-01-02T15:04:05Z",
//	                                   "etag":"…","storage_class":"STANDARD","version_id":"…","is_latest":true}
//	cp, mv, mirror,      TransferRecord {"op":"cp","source":"a.txt","target":"fs/b/a.txt","size":5,"etag":"…",
//	restore                            "version_id":"…","sha256":"hex","multipart":true,"parts":4,
//	                                   "resumed_parts":2,"restarted":false,"reason":"new","seconds":0.2}
//	mirror plans         PlanRecord   {"op":"mirror","action":"copy|remove","source":"…","target":"…","size":5,
//	                                   "reason":"new|size|etag|newer","dry_run":true}
//	rm                   RemoveRecord {"op":"rm","path":"fs/b/k","key":"k","version_id":"…","delete_marker":true}
//	mb, rb, versions B   BucketRecord {"op":"mb","path":"fs/b","bucket":"b","region":"us-east-1",
//	                                   "versioning":"Enabled|Suspended|Off","existed":false,"removed":0}
//	stat                 StatRecord   {"type":"object|bucket","path":…,"size":…,"etag":…,"content_type":…,
//	                                   "version_id":…,"metadata":{…},"checksums":{"SHA256":"base64"},
//	                                   "checksum_type":"FULL_OBJECT","versioning":…,"region":…}
//	share                ShareRecord  {"path":"fs/b/k","method":"GET|PUT","url":"https://…","expires":"…"}
//	du                   DuRecord     {"path":"fs/b/p/","objects":3,"size":7,"total":true}
//	alias set, list      AliasRecord  {"name":"fs","url":"…","region":…,"credentials":"static|profile|env",
//	                                   "access_key":"…","profile":…,"source":"access key AK…"} (never a secret)
//	alias remove         {"op":"alias remove","name":"fs"}
//
// New fields may appear; a field's meaning does not change.
package client
