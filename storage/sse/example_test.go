package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/filesphere/filesphere/storage/sse"
)

// Encrypt an object on its way to the erasure codec, then read a range of
// it back, fetching only the packages the range touches.
func Example() {
	key, err := sse.NewKey() // per object; from kms.GenerateDataKey in the engine
	if err != nil {
		log.Fatal(err)
	}
	params, err := sse.NewParams(sse.DefaultSuite(), 0) // stored in the object's record
	if err != nil {
		log.Fatal(err)
	}
	plain := strings.Repeat("0123456789", 20000) // 200000 bytes: 4 packages
	enc, err := sse.NewReader(strings.NewReader(plain), key, params, int64(len(plain)))
	if err != nil {
		log.Fatal(err)
	}
	var stored bytes.Buffer // stands in for the erasure-coded shards
	if _, err := io.Copy(&stored, enc); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored bytes:", stored.Len(), stored.Len() == int(sse.EncryptedSize(int64(len(plain)))))

	// GET with Range: bytes=131070-131079
	size, off, length := int64(len(plain)), int64(131070), int64(10)
	cr, err := sse.RangeOf(size, off, length)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fetch ciphertext", cr.Offset, "+", cr.Length)
	fetched := bytes.NewReader(stored.Bytes()[cr.Offset : cr.Offset+cr.Length])
	dec, err := sse.NewDecryptReader(fetched, key, params, size, off, length)
	if err != nil {
		log.Fatal(err)
	}
	got, err := io.ReadAll(dec)
	fmt.Printf("%s %v\n", got, err)
	// Output:
	// stored bytes: 200064 true
	// fetch ciphertext 65552 + 131104
	// 0123456789 <nil>
}

// SSE-C: check the request's headers, seal a fresh object key under the
// customer key, and later prove a request holds the same customer key.
func ExampleSealKey() {
	customer, err := sse.ParseCustomerKey("AES256",
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", // base64("0123456789abcdef0123456789abcdef")
		"hRasmdxgYDKV3nvbahU1MA==")
	if err != nil {
		log.Fatal(err)
	}
	objectKey, _ := sse.NewKey()
	sealed, _ := sse.SealKey(customer, objectKey, []byte("bucket/photo.jpg")) // stored; the customer key is not
	k, err := sse.OpenKey(customer, sealed, []byte("bucket/photo.jpg"))
	fmt.Println(k == objectKey, err)
	_, err = sse.OpenKey(sse.Key{}, sealed, []byte("bucket/photo.jpg"))
	fmt.Println(err)
	// Output:
	// true <nil>
	// sse: key does not open the sealed object key
}
