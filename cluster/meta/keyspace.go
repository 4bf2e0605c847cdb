package meta

// The key space, declared in one file.
//
// The metadata store is one ordered key space. It is split at the top level
// into prefixes, one per owner. Each owner lays out its own keys under its
// prefix (in its own package, in one file there too) and never writes under
// another owner's prefix:
//
//	c/  cluster: nodes, drives, ring versions            (package cluster)
//	s/  storage: buckets, object versions, multipart     (package storage)
//	i/  iam:     users, groups, keys, policies, oauth    (package iam, iam/oauth)
//	k/  kms:     named keys sealed with the master key   (package kms)
//
// Keys are compared as raw bytes. A prefix never is a prefix of another one,
// so List(prefix) of one owner never returns keys of another.
const (
	PrefixCluster = "c/"
	PrefixStorage = "s/"
	PrefixIAM     = "i/"
	PrefixKMS     = "k/"
)

// Prefixes returns every top-level prefix, for checks and tooling.
func Prefixes() []string { return []string{PrefixCluster, PrefixStorage, PrefixIAM, PrefixKMS} }

// Internal bbolt layout of the FSM's database file. Nothing outside this
// package reads it; it changes only together with formatVersion.
var (
	// bucketData holds the user key space: key -> revision(8, big endian) || value.
	bucketData = []byte("data")
	// bucketMeta holds the FSM's own state, written in the same bbolt
	// transaction as the data it describes.
	bucketMeta = []byte("meta")

	// keyAppliedIndex (in bucketMeta) is the log index of the last applied
	// command, 8 bytes big endian.
	keyAppliedIndex = []byte("applied_index")
	// keyFormat (in bucketMeta) is the on-disk format version, 1 byte.
	keyFormat = []byte("format")
)

// formatVersion is the on-disk layout version stored under keyFormat.
const formatVersion = 1

// revisionSize is the length of the revision header before each stored value.
const revisionSize = 8
