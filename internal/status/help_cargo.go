package status

// cargoHelp is the setup guide of the crates.io mirror at base.
func cargoHelp(base string) helpPage {
	registry := "sparse+" + base + "/cargo/index/"
	conf := "[source.crates-io]\nreplace-with = \"gomirror\"\n\n[source.gomirror]\nregistry = \"" + registry + "\""
	return helpPage{ID: "cargo", Name: "crates.io", Intro: "Fetch Rust crates through this mirror of the crates.io sparse index (cargo 1.68 or later). Every .crate is checked against the cksum of the index before it is stored, and cargo checks it again.",
		Snippets: []snippet{
			{Title: "cargo", File: "~/.cargo/config.toml", Code: conf},
			{Title: "One command only", Code: "CARGO_SOURCE_CRATES_IO_REPLACE_WITH=gomirror CARGO_SOURCE_GOMIRROR_REGISTRY=" + registry + " cargo fetch"},
			{Title: "With gomirror's client", Intro: "Saves the previous file; gomirror restore cargo puts it back.", Code: "gomirror use cargo " + base},
		}}
}
