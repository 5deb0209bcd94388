package mirrors

import "testing"

func TestResolve(t *testing.T) {
	tests := []struct {
		target  Target
		mirror  string
		want    string
		wantErr bool
	}{
		{Go, "goproxy.cn", "https://goproxy.cn", false},
		{Go, "GoProxy.CN", "https://goproxy.cn", false},
		{Pip, "tsinghua", "https://pypi.tuna.tsinghua.edu.cn/simple", false},
		{Go, "https://mirror.example/", "https://mirror.example", false},
		{Pip, "https://mirror.example/simple/", "https://mirror.example/simple/", false},
		{Go, "file:///srv/mirror", "file:///srv/mirror", false},
		{Pip, "file:///srv/mirror", "", true},
		{Docker, "goproxy.cn", "", true},
		{Go, "nosuch", "", true},
		{Go, "ftp://x.example", "", true},
		{Go, "https://a.example,direct", "", true},
		{Npm, "https://", "", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.target)+" "+tt.mirror, func(t *testing.T) {
			got, err := Resolve(tt.target, tt.mirror)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPresetsAreValid(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Presets() {
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if seen[n] {
				t.Errorf("name %q used twice", n)
			}
			seen[n] = true
		}
		for target, u := range p.URLs {
			if _, err := CheckURL(target, u); err != nil {
				t.Errorf("preset %s %s: %v", p.Name, target, err)
			}
		}
	}
}
