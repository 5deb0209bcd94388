package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreBudget(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gomirror.yaml")
	if err := os.WriteFile(file, []byte("store-budget: 500GiB\nstore-budget-recent: 30m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		env    []string
		bytes  int64
		recent time.Duration
	}{
		{"default", nil, nil, 0, 10 * time.Minute},
		{"flag", []string{"--store-budget", "2GiB"}, nil, 2 << 30, 10 * time.Minute},
		{"env", nil, []string{"GOMIRROR_STORE_BUDGET", "1000", "GOMIRROR_STORE_BUDGET_RECENT", "1m"}, 1000, time.Minute},
		{"file", []string{"--config", file}, nil, 500 << 30, 30 * time.Minute},
		{"off", []string{"--store-budget", "0", "--store-budget-recent", "0s"}, nil, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.args, envFunc(append([]string{"HOME", "/h"}, tt.env...)...))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Budget.Bytes != tt.bytes || cfg.Budget.Recent != tt.recent {
				t.Errorf("got %d bytes and %v recent, want %d and %v", cfg.Budget.Bytes, cfg.Budget.Recent, tt.bytes, tt.recent)
			}
		})
	}
}

func TestStoreBudgetBad(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"negative", nil, []string{"GOMIRROR_STORE_BUDGET", "-1GiB"}, "GOMIRROR_STORE_BUDGET"},
		{"not a size", nil, []string{"GOMIRROR_STORE_BUDGET", "lots"}, "GOMIRROR_STORE_BUDGET"},
		{"negative recent", []string{"--store-budget", "1GiB", "--store-budget-recent", "-1m"}, nil, "store-budget-recent"},
		{"on S3", []string{"--store-budget", "1GiB", "--storage", "s3://bucket?endpoint=https://s3.example.com"}, nil, "lifecycle rule"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, envFunc(append([]string{"HOME", "/h"}, tt.env...)...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one naming %s", err, tt.want)
			}
		})
	}
}
