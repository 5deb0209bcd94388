package netrc

import (
	"testing"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"empty", "", "machine m:8443 login u password p\n", true},
		{"append", "machine other login a password b\n", "machine other login a password b\nmachine m:8443 login u password p\n", true},
		{"append without final newline", "machine other login a password b", "machine other login a password b\nmachine m:8443 login u password p\n", true},
		{"replace one line", "# mine\nmachine m:8443 login old password old\nmachine z login z password z\n",
			"# mine\nmachine m:8443 login u password p\nmachine z login z password z\n", true},
		{"replace several lines", "machine m:8443\n  login old\n  password old\n\nmachine z login z password z\n",
			"machine m:8443 login u password p\n\nmachine z login z password z\n", true},
		{"replace last", "machine m:8443 login old password old", "machine m:8443 login u password p\n", true},
		{"same", "machine m:8443 login u password p\n", "machine m:8443 login u password p\n", false},
		{"before default", "machine a login a password a\ndefault login anon password x\n",
			"machine a login a password a\nmachine m:8443 login u password p\ndefault login anon password x\n", true},
		{"host without the port is another machine", "machine m login a password b\n", "machine m login a password b\nmachine m:8443 login u password p\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := Set([]byte(tt.in), "m:8443", "u", "p")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || changed != tt.changed {
				t.Errorf("got %q (changed %v), want %q (changed %v)", got, changed, tt.want, tt.changed)
			}
			if l, p, ok := Get(got, "m:8443"); !ok || l != "u" || p != "p" {
				t.Errorf("Get after Set: %q %q %v", l, p, ok)
			}
		})
	}
	if _, _, err := Set(nil, "m", "u", "two words"); err == nil {
		t.Error("a password with a space: got no error")
	}
}

func FuzzSet(f *testing.F) {
	f.Add("machine m login a password b\n# c\ndefault login x password y\n")
	f.Add("machine m\nlogin a\n")
	f.Add("macdef init\ncd /\n\nmachine m login a password b")
	f.Fuzz(func(t *testing.T, in string) {
		out, _, err := Set([]byte(in), "m:1", "u", "p")
		if err != nil {
			t.Fatal(err)
		}
		if l, p, ok := Get(out, "m:1"); !ok || l != "u" || p != "p" {
			t.Errorf("Set(%q) = %q: Get finds %q %q %v", in, out, l, p, ok)
		}
		again, changed, _ := Set(out, "m:1", "u", "p")
		if changed || string(again) != string(out) {
			t.Errorf("Set twice changed %q to %q", out, again)
		}
	})
}
