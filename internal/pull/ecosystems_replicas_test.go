package pull_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gomirror/gomirror/internal/coord"
	"github.com/gomirror/gomirror/internal/store/s3"
)

// Replicas of one mirror share an S3 bucket and a Redis: misses on both
// make one upstream request, and each serves what the other stored with
// the upstream down.

// needService returns the value of the environment variable env, which
// names a server the test needs. Without it the test is skipped, except
// under CI, which always provides it.
func needService(t *testing.T, env, how string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, but CI=true: CI must provide it (%s)", env, how)
		}
		t.Skipf("%s is not set: no server to test against (%s)", env, how)
	}
	return v
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newBucketStore opens a store in a new bucket on the S3 server at
// endpoint, emptied and removed when the test ends.
func newBucketStore(t *testing.T, endpoint, bucket string) *s3.Store {
	t.Helper()
	st, err := s3.New(t.Context(), "s3://"+bucket+"?endpoint="+url.QueryEscape(endpoint), os.Getenv, nil)
	if err != nil {
		t.Fatalf("opening bucket %s: %v", bucket, err)
	}
	return st
}

// removeBucket empties and removes bucket.
func removeBucket(t *testing.T, endpoint, bucket string) {
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Secure: u.Scheme == "https",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Errorf("emptying bucket %s: %v", bucket, obj.Err)
			return
		}
		c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		t.Errorf("removing bucket %s: %v", bucket, err)
	}
}

func newCoordinator(t *testing.T, redisURL, prefix string) *coord.Coordinator {
	t.Helper()
	c, err := coord.New(t.Context(), coord.Config{URL: redisURL, Prefix: prefix})
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEveryEcosystemReplicasShareOneFill(t *testing.T) {
	endpoint := needService(t, "GOMIRROR_TEST_S3_ENDPOINT", "source .ci/minio.sh to start MinIO")
	redisURL := needService(t, "GOMIRROR_TEST_REDIS", "source .ci/redis.sh to start Redis")
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			bucket := "gomirror-table-" + strings.ReplaceAll(e.name, "_", "-") + "-" + randomHex(4)
			prefix := coord.DefaultPrefix + "table-" + randomHex(6) + ":"
			// Each replica has its own connections to the bucket and to
			// Redis, as separate processes would.
			stA := newBucketStore(t, endpoint, bucket)
			t.Cleanup(func() { removeBucket(t, endpoint, bucket) })
			stB := newBucketStore(t, endpoint, bucket)
			ca, cb := newCoordinator(t, redisURL, prefix), newCoordinator(t, redisURL, prefix)
			a := newRigWith(t, e, rigOptions{store: stA, locker: ca, negative: ca})
			b := newRigWith(t, e, rigOptions{store: stB, locker: cb, negative: cb, of: a})
			replicas := []*rig{a, b}

			if code, body, _, err := a.get(t.Context(), a.meta); err != nil || code != http.StatusOK {
				t.Fatalf("metadata: got %d %q %v, want 200", code, body, err)
			}
			// The upstream holds the file back until both replicas are
			// filling it, so that their misses overlap.
			held := make(chan string, 64)
			hold := make(chan struct{})
			a.gate.set(func(g *gate) { g.hold, g.held = hold, held })
			const clients = 10
			var wg sync.WaitGroup
			errs := make(chan string, clients)
			for i := range clients {
				r := replicas[i%len(replicas)]
				wg.Go(func() {
					code, body, _, err := r.get(t.Context(), a.file)
					if err != nil || code != http.StatusOK || !bytes.Equal(body, a.want) {
						errs <- fmt.Sprintf("replica %d: got %d, %d bytes, %v; want 200 and the %d bytes of the file", i%len(replicas), code, len(body), err, len(a.want))
					}
				})
			}
			for p := <-held; !strings.Contains(p, a.fileUp); p = <-held {
			}
			waitFor(t, "both replicas to be filling the file", func() bool {
				return testutil.ToFloat64(a.m.FetchesInFlight) >= 1 && testutil.ToFloat64(b.m.FetchesInFlight) >= 1
			})
			a.gate.set(func(g *gate) { g.hold, g.held = nil, nil })
			close(hold)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			if got := a.gate.count(a.fileUp); got != 1 {
				t.Errorf("upstream requests for %d concurrent misses over %d replicas: got %d, want 1", clients, len(replicas), got)
			}

			// With the upstream down, each replica serves what is in the
			// bucket, whichever of them stored it.
			a.gate.set(func(g *gate) { g.down = true })
			for i, r := range replicas {
				if code, body, _, err := r.get(t.Context(), a.file); err != nil || code != http.StatusOK || !bytes.Equal(body, a.want) {
					t.Errorf("replica %d, file with the upstream down: got %d, %d bytes, %v; want 200 and the file", i, code, len(body), err)
				}
				if code, body, _, err := r.get(t.Context(), a.meta); err != nil || code != http.StatusOK {
					t.Errorf("replica %d, metadata with the upstream down: got %d %q, %v; want 200", i, code, body, err)
				}
			}
		})
	}
}
