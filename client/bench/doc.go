// Package bench is FileSphere's S3 load generator, the engine behind
// `filesphere bench`. It works against any S3 endpoint (path-style).
//
// A run is a list of profiles, each one load (put, get, mixed, list) of
// one object size at one concurrency for one duration. get, mixed and list
// profiles first upload their object set (not timed). Each of Concurrency
// workers then sends one request at a time, back to back, until the
// duration is over; requests in flight at the deadline finish and count.
// Afterwards everything under the profile's prefix is deleted (DeleteObjects
// batches, single DELETEs where that is not implemented) and checked gone;
// a bucket the run created is removed. Cancelling the context (Ctrl-C)
// stops the load and still cleans up.
//
// What is measured, so runs compare honestly:
//   - Requests are signed with SigV4 by the AWS SDK's signer. Signed
//     payloads hash every PUT body (SHA-256) as clients do over plain HTTP;
//     unsigned ones send UNSIGNED-PAYLOAD. No x-amz-checksum-* is sent
//     (see ClientSDK for the SDK's default CRCs, which are off).
//   - PUT bodies are windows of one shared random buffer of at most 16 MiB,
//     repeated for larger objects (nothing is allocated per body, memory is
//     bounded for any size); GET bodies are drained into a per-worker buffer
//     and must have exactly the object's size (else ShortRead or
//     SizeMismatch); a LIST pass must return exactly the uploaded keys
//     (else ListMismatch). The mixed load never sends a request that may
//     legitimately fail (see keyPool), so every error is the server's.
//   - Latencies are of successful requests, to the last body byte, in a
//     log-linear histogram per worker and kind (percentiles within 0.4 %).
//     Throughput sums each worker's own rate over its busy time.
//
// # JSON report (version 1)
//
// `filesphere bench ... --json` prints one Report:
//
//	{
//	  "version": 1, "endpoint": "http://127.0.0.1:9000", "client": "http",
//	  "payload": "signed", "bucket": "fsbench-1a2b3c4d", "seed": 42,
//	  "started": "2026-01-02T15:04:05Z", "interrupted": false,
//	  "profiles": [{
//	    "name": "put-4KiB", "op": "put", "size_bytes": 4096, "concurrency": 32,
//	    "objects": 0, "duration_s": 20, "elapsed_s": 20.01,
//	    "ops": [{
//	      "op": "PUT", "ops": 81234, "errors": 0, "error_codes": {"InternalError": 2},
//	      "bytes": 332734464, "objects": 81234,
//	      "ops_per_sec": 4061.7, "mib_per_sec": 15.9, "objects_per_sec": 4061.7,
//	      "latency_ms": {"mean": 7.8, "p50": 7.1, "p90": 11.2, "p99": 19.5, "max": 80.1},
//	      "last_error": "HTTP 500 InternalError: ..."
//	    }],
//	    "total": {"op": "total", ...same fields...},
//	    "server_rss": {"peak_bytes": 123456789, "mean_bytes": 100000000, "samples": 100},
//	    "load1_start": 2.5, "load1_end": 3.1,
//	    "cleanup": {"deleted": 81234, "seconds": 12.3},
//	    "error": ""
//	  }]
//	}
//
// "ops" has one entry per operation kind the profile sent (PUT, GET, STAT,
// DELETE, LIST); "ops", "bytes", "objects" and latencies count successful
// requests, "errors"/"error_codes" the failed ones (codes as ErrorCode
// labels them). For LIST, "objects" are keys returned. Fields marked
// omitempty in the types may be absent. New fields may appear within a
// version; a change of meaning bumps "version".
package bench
