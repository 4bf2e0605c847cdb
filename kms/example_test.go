package kms_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/kms"
)

// The life of a named key: create, wrap a data key for an object, rotate
// (old objects stay readable), disable (they become unreadable).
func Example() {
	dir, _ := os.MkdirTemp("", "kms-example")
	defer os.RemoveAll(dir)
	kv, err := meta.OpenLocal(filepath.Join(dir, "meta.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer kv.Close()

	master, _, created, err := kms.LoadOrCreateMasterKey(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("master key generated:", created) // cmd logs a warning here
	cfg := kms.DefaultConfig()
	cfg.MasterKey = master
	k, err := kms.New(cfg, kv)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := k.CheckMasterKey(ctx); err != nil {
		log.Fatal(err)
	}

	if _, err := k.CreateKey(ctx, "testkey-1"); err != nil {
		log.Fatal(err)
	}
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::photos/cat.jpg"}
	dataKey, sealed, err := k.GenerateDataKey(ctx, "testkey-1", ec) // dataKey encrypts the object
	if err != nil {
		log.Fatal(err)
	}
	name, version, _ := kms.SealedKeyID(sealed) // sealed goes into the object's record
	fmt.Println("sealed with", name, "version", version)

	info, _ := k.RotateKey(ctx, "testkey-1")
	again, err := k.Decrypt(ctx, sealed, ec)
	fmt.Println("after rotation to version", info.Current(), "old key opens:", again == dataKey, err)

	_, err = k.Decrypt(ctx, sealed, map[string]string{"aws:s3:arn": "arn:aws:s3:::photos/dog.jpg"})
	fmt.Println(errors.Is(err, kms.ErrContextMismatch))

	k.DisableKey(ctx, "testkey-1")
	_, err = k.Decrypt(ctx, sealed, ec)
	fmt.Println(err)
	// Output:
	// master key generated: true
	// sealed with testkey-1 version 1
	// after rotation to version 2 old key opens: true <nil>
	// true
	// kms: key is disabled: "testkey-1"
}

// Sealing an IAM secret key for storage.
func ExampleKMS_Seal() {
	dir, _ := os.MkdirTemp("", "kms-example")
	defer os.RemoveAll(dir)
	kv, _ := meta.OpenLocal(filepath.Join(dir, "meta.db"))
	defer kv.Close()
	master, _ := kms.GenerateMasterKey()
	cfg := kms.DefaultConfig()
	cfg.MasterKey = master
	k, _ := kms.New(cfg, kv)

	ctx := context.Background()
	sealed, _ := k.Seal(ctx, "iam/secret-key/AKIDEXAMPLE", []byte("wJalrXUtnFEMI/K7MDENG"))
	secret, err := k.Open(ctx, "iam/secret-key/AKIDEXAMPLE", sealed)
	fmt.Printf("%s %v\n", secret, err)
	_, err = k.Open(ctx, "iam/secret-key/OTHER", sealed)
	fmt.Println(err)
	// Output:
	// wJalrXUtnFEMI/K7MDENG <nil>
	// kms: encryption context does not match
}
