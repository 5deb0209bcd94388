// Package maven is gomirror's Maven repository mirror: the repository
// layout under /maven2/ (group/artifact/version/file), on the
// pull-through core (internal/pull).
//
// Every file of the repository but maven-metadata.xml is immutable: it
// is fetched once, from the first upstream repository that has it, and
// kept. Before it is stored it is checked against the digest in the
// repository's .sha512, .sha256 or .sha1 file next to it (the strongest
// one there; all three are asked at once, before the file): a mismatch is
// a 502 naming both digests, and nothing is stored. A file that its
// repository publishes no such checksum for (none, or an .md5 alone) is
// refused unless [Config.AllowUnchecked] is set: an unchecked download
// is not a mirror's to vouch for.
//
// The checksum files that clients ask for (.sha1, .sha256, .sha512,
// .md5) are never passed through: they are computed from the stored
// file's checked bytes, stored once, and served like the file.
//
// maven-metadata.xml, at the group, artifact and SNAPSHOT version level,
// is metadata: fresh for [Config.MetadataTTL], then fetched again (and
// checked against its upstream checksum when there is one), and served
// stale when the upstream is down. It comes from the first repository
// that has it; metadata is not merged across repositories.
//
// Repositories are asked in order. Those with credentials are private:
// they are asked only for [Config.PrivateGroups], which are never asked
// of the public ones, so that no public repository can shadow a private
// artifact (dependency confusion), and [Handler.Private] marks their
// paths for access rules. Redirects to another host are refused, so that
// credentials never leave their repository's host.
package maven
