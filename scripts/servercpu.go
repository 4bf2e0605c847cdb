//go:build ignore

// servercpu drives PUTs or GETs of one object against a running filesphere
// server and reports the server process's CPU time per operation (Linux
// /proc/<pid>/stat), which a machine busy with other work distorts far
// less than wall time. PUTs come in the payload kinds clients send: a
// signed payload with Content-MD5 (s3cmd), with x-amz-checksum-sha256,
// unsigned, unsigned with a CRC32. With -perf FILE it records the server
// with perf(1) during the timed phase. scripts/servercpu.sh runs it.
//
//	go run scripts/servercpu.go -endpoint URL -pid PID -mode get -n 6
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

type driver struct {
	endpoint string
	creds    aws.Credentials
	signer   *v4.Signer
}

// cpuTicks is the server's user+system time in clock ticks (1/100 s).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		log.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func (d *driver) do(method, path string, body []byte, hdr http.Header, payload string) {
	req, err := http.NewRequestWithContext(context.Background(), method, d.endpoint+path, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("X-Amz-Content-Sha256", payload)
	if err := d.signer.SignHTTP(context.Background(), d.creds, req, payload, "s3", "us-east-1", time.Now()); err != nil {
		log.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && !(path == "/servercpu" && resp.StatusCode == http.StatusConflict) {
		log.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:9000", "S3 endpoint")
	ak := flag.String("access-key", os.Getenv("FILESPHERE_ROOT_USER"), "access key")
	sk := flag.String("secret-key", os.Getenv("FILESPHERE_ROOT_PASSWORD"), "secret key")
	pid := flag.Int("pid", 0, "server pid")
	size := flag.Int("size", 64<<20, "object size")
	n := flag.Int("n", 6, "timed operations")
	mode := flag.String("mode", "get", "put-signed-md5, put-signed-sha256, put-unsigned, put-unsigned-crc32 or get")
	perfOut := flag.String("perf", "", "perf record output for the timed phase")
	flag.Parse()
	d := &driver{endpoint: *endpoint, creds: aws.Credentials{AccessKeyID: *ak, SecretAccessKey: *sk},
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}

	data := make([]byte, *size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	// Digests are computed here, once, outside the timed phase.
	sha, sum := sha256.Sum256(data), md5.Sum(data)
	crc := binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	d.do(http.MethodPut, "/servercpu", nil, nil, emptySHA256)
	hdr, payload := http.Header{}, "UNSIGNED-PAYLOAD"
	switch *mode {
	case "put-signed-md5":
		payload = hex.EncodeToString(sha[:])
		hdr.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	case "put-signed-sha256":
		payload = hex.EncodeToString(sha[:])
		hdr.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(sha[:]))
	case "put-unsigned":
	case "put-unsigned-crc32":
		hdr.Set("X-Amz-Checksum-Crc32", base64.StdEncoding.EncodeToString(crc))
	case "get":
		d.do(http.MethodPut, "/servercpu/obj", data, nil, "UNSIGNED-PAYLOAD")
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
	var rec *exec.Cmd
	if *perfOut != "" {
		rec = exec.Command("perf", "record", "-F", "499", "-g", "-o", *perfOut, "-p", strconv.Itoa(*pid))
		if err := rec.Start(); err != nil {
			log.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // perf attaches
	}
	start, c0 := time.Now(), cpuTicks(*pid)
	for i := range *n {
		if *mode == "get" {
			d.do(http.MethodGet, "/servercpu/obj", nil, nil, emptySHA256)
		} else {
			d.do(http.MethodPut, "/servercpu/obj"+strconv.Itoa(i%4), data, hdr, payload)
		}
	}
	elapsed, cpu := time.Since(start), cpuTicks(*pid)-c0
	if rec != nil {
		_ = rec.Process.Signal(os.Interrupt)
		_ = rec.Wait()
	}
	fmt.Printf("%s size=%d n=%d server_cpu_ms_per_op=%.1f wall_MBps=%.1f\n",
		*mode, *size, *n, float64(cpu)*10/float64(*n), float64(*n)*float64(*size)/elapsed.Seconds()/1e6)
}
