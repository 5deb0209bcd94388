package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// A synthetic store holds n small .info files in the GOMODCACHE layout:
// modules example.com/scale/mNNNN with scaleVersions versions each.
const scaleVersions = 1000

// scaleName returns the store name of the i'th file of a synthetic store.
func scaleName(i int) string {
	return fmt.Sprintf("example.com/scale/m%04d/@v/v1.0.%d.info", i/scaleVersions, i%scaleVersions)
}

// scaleStore returns the directory of a synthetic store of n versions under
// cache, creating it once. progress receives a line now and then.
func scaleStore(ctx context.Context, cache string, n int, progress func(string)) (string, error) {
	dir := filepath.Join(cache, fmt.Sprintf("scale-%d", n))
	done := dir + ".complete"
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if i%scaleVersions == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, scaleName(i))), 0o755); err != nil {
				return "", err
			}
			if i > 0 && i%100_000 == 0 {
				progress(fmt.Sprintf("synthetic store: %d of %d versions (%v)", i, n, time.Since(start).Round(time.Second)))
			}
		}
		v := fmt.Sprintf("v1.0.%d", i%scaleVersions)
		body := fmt.Appendf(nil, `{"Version":%q,"Time":"2024-01-02T03:04:05Z"}`, v)
		if err := os.WriteFile(filepath.Join(dir, scaleName(i)), body, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// hitLatency asks base for count random names of a synthetic store of n
// versions, one at a time on one connection, after warm-up requests, and
// returns the median and 99th percentile time to a whole answer.
func hitLatency(ctx context.Context, base string, n, count int) (p50, p99 time.Duration, err error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	var lat []time.Duration
	for i := range count + count/10 {
		name := scaleName(rng.IntN(n))
		t0 := time.Now()
		if err := getOK(ctx, client, base+"/"+name); err != nil {
			return 0, 0, err
		}
		if i >= count/10 { // the first tenth warms up
			lat = append(lat, time.Since(t0))
		}
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}
