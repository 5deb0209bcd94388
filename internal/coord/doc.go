// Package coord lets several gomirror replicas that share one store work as
// one mirror, using Redis.
//
// A [Coordinator] makes sure that only one replica at a time fetches a given
// file from upstream: the others wait and are told over Redis pub/sub when
// the file is in the shared store, so they serve it from there instead of
// fetching it again. A fetcher that dies without a word loses its lock when
// the lock's TTL runs out, and a waiting replica takes over. The
// Coordinator also shares upstream "not found" answers between replicas
// for a while (a negative cache).
//
// Coordination is an optimisation, never a dependency: when Redis cannot be
// reached, every method fails fast or does nothing, the replicas fill on
// their own, and the Coordinator recovers by itself once Redis answers
// again. Each transition is logged once and shown by the
// gomirror_coordination_degraded gauge.
//
// Keys and channels used, under the configured prefix ("gomirror:" by
// default), where NAME is a store name such as
// "golang.org/x/text/@v/v0.3.0.zip":
//
//	PREFIXlock:NAME      the fill lock: a random token, with a TTL the holder renews
//	PREFIXfill:NAME      pub/sub channel: "stored" or "failed" when a fill ends
//	PREFIXstored:NAME    set for a few seconds after a fill of NAME was stored
//	PREFIXnotfound:NAME  a remembered upstream "not found" reason, with a TTL
package coord
