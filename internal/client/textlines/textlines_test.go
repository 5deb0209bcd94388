package textlines

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, in := range []string{"", "a", "a\n", "a\nb", "a\r\nb\r\n", "\n\n", "x\r\n\r\ny"} {
		if got := string(Split([]byte(in)).Bytes()); got != in {
			t.Errorf("Split(%q).Bytes() = %q, want it back", in, got)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "[host]\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// A file that mixes line endings is written back with one; a
		// file that uses one kind is given back byte for byte.
		tx := Split([]byte(in))
		again := Split(tx.Bytes())
		if string(again.Bytes()) != string(tx.Bytes()) {
			t.Errorf("not stable: %q", in)
		}
	})
}
